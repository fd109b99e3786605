"""Tickets: loose number recognition, per-day numbering under concurrent writers, deadlines, validation."""
from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from bot.settings import get_settings
from knowledge_base.db import session_factory
from knowledge_base.models import Ticket, TicketEvent
from knowledge_base.tickets import STATUS_LABELS, find_ticket_numbers, get_ticket, open_ticket

FRIDAY_9_LOCAL = datetime(2024, 3, 15, 2, 0)  # naive UTC = 09:00 in Asia/Ho_Chi_Minh


def test_find_ticket_numbers_normalises_loose_typing():
    text = "phản ánh pa-240315-0007 đến đâu rồi, còn PA 240315 0008 và Pa2403150009? lại PA-240315-0007"
    assert find_ticket_numbers(text) == ["PA-240315-0007", "PA-240315-0008", "PA-240315-0009"]
    assert find_ticket_numbers("mã XPA-240315-0007 và PA-2403-0001") == []


def test_numbers_run_per_local_day_and_restart_the_next_day(session):
    first = open_ticket(session, "complaint", "Chậm trả kết quả", now=FRIDAY_9_LOCAL)
    second = open_ticket(session, "feedback", "Nên có thêm quầy", now=FRIDAY_9_LOCAL)
    # 18:00 UTC on the 15th is already 01:00 on the 16th in Việt Nam.
    next_day = open_ticket(session, "complaint", "Hỏi lại", now=datetime(2024, 3, 15, 18, 0))
    session.commit()
    assert [first.number, second.number, next_day.number] == ["PA-240315-0001", "PA-240315-0002", "PA-240316-0001"]
    assert first.status == "moi" and STATUS_LABELS[first.status] == "Mới tiếp nhận"
    assert set(STATUS_LABELS) == {"moi", "dang_xu_ly", "da_giai_quyet", "tu_choi"}


def test_a_day_past_9999_tickets_keeps_counting(session):
    session.add(Ticket(number="PA-240315-9999", kind="complaint", content="x"))
    session.flush()
    assert open_ticket(session, "complaint", "a", now=FRIDAY_9_LOCAL).number == "PA-240315-10000"
    assert open_ticket(session, "complaint", "b", now=FRIDAY_9_LOCAL).number == "PA-240315-10001"


def test_due_date_counts_working_days_only(session, monkeypatch):
    ticket = open_ticket(session, "complaint", "Chậm trả kết quả", now=FRIDAY_9_LOCAL)
    assert ticket.due_at == datetime(2024, 3, 29, 2, 0)  # ten working days: Friday two weeks on
    monkeypatch.setenv("HCC_COMPLAINT_RESPONSE_DAYS", "1")
    get_settings.cache_clear()
    saturday = open_ticket(session, "complaint", "Gửi cuối tuần", now=datetime(2024, 3, 16, 3, 0, tzinfo=timezone.utc))
    assert saturday.due_at == datetime(2024, 3, 18, 3, 0)  # Monday
    assert saturday.created_at == datetime(2024, 3, 16, 3, 0)


def test_a_complaints_deadline_skips_holidays(session, monkeypatch):
    before_holidays = datetime(2026, 4, 29, 2, 0, tzinfo=timezone.utc)  # Wednesday 09:00 in Việt Nam
    assert open_ticket(session, "complaint", "a", now=before_holidays).due_at == datetime(2026, 5, 15, 2, 0)  # not the 13th
    monkeypatch.setenv("HCC_HOLIDAYS", "04-30, 05-01, 2026-05-04")  # a day moved by the year's decision
    get_settings.cache_clear()
    assert open_ticket(session, "complaint", "b", now=before_holidays).due_at == datetime(2026, 5, 18, 2, 0)


def test_ticket_fields_are_normalised_and_the_creation_is_logged(session):
    ticket = open_ticket(
        session, "complaint", "  Cán bộ hẹn lại nhiều lần  ",
        procedure_code="1.001193", tracking_code="000.00.04.h49 - 240315 - 0012",
        contact_name=" Nguyễn Văn An ", contact_phone="+84 912.345.678", conversation_id=None,
    )
    session.commit()
    assert ticket.content == "Cán bộ hẹn lại nhiều lần"
    assert ticket.tracking_code == "000.00.04.H49-240315-0012"
    assert ticket.contact_name == "Nguyễn Văn An" and ticket.contact_phone == "0912345678"
    event = session.scalars(select(TicketEvent)).one()
    assert (event.ticket_id, event.action, event.details) == (ticket.id, "created", {"kind": "complaint"})


def test_a_nul_or_a_lone_surrogate_is_kept_as_a_replacement_mark_on_every_database(session):
    """PostgreSQL refuses NUL in text and no database stores a lone surrogate: the rest of what was typed is kept."""
    ticket = open_ticket(session, "complaint", "Chậm\x00 trả \ud800kết quả", contact_name="An\x00", now=FRIDAY_9_LOCAL)
    session.commit()
    session.expire_all()
    assert (ticket.content, ticket.contact_name) == ("Chậm\ufffd trả \ufffdkết quả", "An\ufffd")


@pytest.mark.parametrize("kind, content, extra, message", [
    ("praise", "Tốt", {}, "Loại yêu cầu"),
    ("complaint", "   ", {}, "nội dung"),
    ("complaint", "Chậm", {"contact_phone": "12345"}, "Số điện thoại"),
    ("callback", "Gọi lại", {}, "số điện thoại"),
    ("complaint", "Chậm", {"tracking_code": "HS-1"}, "Mã hồ sơ"),
    ("complaint", "Chậm", {"procedure_code": "x" * 40}, "Mã thủ tục"),
])
def test_bad_input_raises_a_vietnamese_message_and_stores_nothing(session, kind, content, extra, message):
    with pytest.raises(ValueError, match=message):
        open_ticket(session, kind, content, **extra)
    session.commit()
    assert session.scalar(select(func.count()).select_from(Ticket)) == 0


def test_a_rolled_back_transaction_keeps_no_ticket(hcc_env):
    factory = session_factory(hcc_env)
    with factory() as session:
        open_ticket(session, "complaint", "Sẽ bị huỷ", now=FRIDAY_9_LOCAL)
        session.rollback()
        assert session.scalar(select(func.count()).select_from(Ticket)) == 0
        assert session.scalar(select(func.count()).select_from(TicketEvent)) == 0


def test_get_ticket_accepts_loose_typing(session):
    ticket = open_ticket(session, "complaint", "Chậm", now=FRIDAY_9_LOCAL)
    session.commit()
    assert get_ticket(session, "pa 240315 0001").id == ticket.id
    assert get_ticket(session, "PA-240315-0002") is None
    assert get_ticket(session, "không có mã") is None


def test_concurrent_writers_get_consecutive_distinct_numbers(hcc_env):
    factory = session_factory(hcc_env)
    threads_count, per_thread = 8, 5
    barrier = threading.Barrier(threads_count)
    errors = []

    def worker(index: int):
        try:
            barrier.wait(timeout=10)
            for item in range(per_thread):
                with factory() as session, session.begin():
                    open_ticket(session, "complaint", f"Phản ánh {index}-{item}", now=FRIDAY_9_LOCAL)
        except Exception as error:  # reported below; a thread cannot fail the test itself
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    with factory() as session:
        numbers = sorted(session.scalars(select(Ticket.number)).all())
        contents = set(session.scalars(select(Ticket.content)).all())
        assert session.scalar(select(func.count()).select_from(TicketEvent)) == threads_count * per_thread
    assert numbers == [f"PA-240315-{n:04d}" for n in range(1, threads_count * per_thread + 1)]
    assert len(contents) == threads_count * per_thread
