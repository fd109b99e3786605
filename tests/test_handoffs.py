"""Escalation: office hours at their boundaries, the hotline queue, callbacks, operator hold."""
from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from bot.settings import Settings, get_settings
from knowledge_base.conversations import get_or_create
from knowledge_base.db import session_factory
from knowledge_base.handoffs import is_held_by_operator, office_open, request_callback, request_handoff
from knowledge_base.models import Conversation, Handoff, Ticket
from knowledge_base.office_time import parse_office_hours

VIETNAM = timezone(timedelta(hours=7))
DEFAULT = Settings()


def monday(hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2026, 11, 23, hour, minute, second, tzinfo=VIETNAM)


@pytest.mark.parametrize("moment, expected", [
    (monday(7, 29, 59), False),
    (monday(7, 30), True),
    (monday(11, 29, 59), True),
    (monday(11, 30), False),
    (monday(12, 45), False),
    (monday(13, 30), True),
    (monday(16, 59, 59), True),
    (monday(17, 0), False),
    (monday(7, 30) + timedelta(days=4), True),  # Friday
    (monday(9, 0) + timedelta(days=5), False),  # Saturday
    (monday(9, 0) + timedelta(days=6), False),  # Sunday
    (datetime(2026, 11, 23, 0, 30), True),  # naive means UTC: 07:30 in Việt Nam
    (datetime(2026, 11, 23, 0, 29), False),
    (datetime(2026, 11, 23, 10, 0), False),  # 17:00 in Việt Nam
    (datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc), True),
])
def test_office_hours_boundaries(moment, expected):
    assert office_open(moment, DEFAULT) is expected


def test_office_hours_from_the_environment(monkeypatch):
    monkeypatch.setenv("HCC_OFFICE_HOURS", "mon-fri 08:00-17:00; sat 08:00-11:30")
    get_settings.cache_clear()
    try:
        assert office_open(monday(12, 0))
        assert office_open(monday(8, 0) + timedelta(days=5))
        assert not office_open(monday(11, 30) + timedelta(days=5))
    finally:
        get_settings.cache_clear()


def test_office_hours_in_another_time_zone():
    tokyo = replace(DEFAULT, timezone="Asia/Tokyo")
    assert office_open(datetime(2026, 11, 22, 22, 30), tokyo)  # 07:30 Monday in Tokyo
    assert not office_open(datetime(2026, 11, 22, 22, 30), DEFAULT)  # 05:30 Monday here


def test_office_hours_parser():
    assert monday(0, 0).weekday() == 0  # the boundary cases above rely on it
    assert parse_office_hours("mon,wed-thu 13:30-17:00, 07:30 - 11:30")[2][0][0].hour == 7
    assert set(parse_office_hours("mon,wed-thu 13:30-17:00")) == {0, 2, 3}


@pytest.mark.parametrize("text", ["", "mon-fri", "fri-mon 08:00-17:00", "mon 17:00-08:00", "mon 8h-17h", "xyz 08:00-09:00", "mon 25:00-26:00"])
def test_bad_office_hours_are_refused(text):
    with pytest.raises(ValueError, match="HCC_OFFICE_HOURS"):
        parse_office_hours(text)


def test_queue_positions_reuse_and_expected_wait(session):
    first, second, third = (get_or_create(session, "telegram", str(n)) for n in (1, 2, 3))
    a = request_handoff(session, first, "request")
    b = request_handoff(session, second, "fallback")
    assert (a.position, a.expected_wait_minutes, a.reused) == (1, 5, False)
    assert (b.position, b.expected_wait_minutes, b.reused) == (2, 10, False)
    again = request_handoff(session, second, "complaint")
    assert (again.handoff_id, again.position, again.reused) == (b.handoff_id, 2, True)
    assert first.state == second.state == "queued" and third.state == "bot"
    session.commit()
    assert session.scalar(select(func.count()).select_from(Handoff)) == 2
    assert session.get(Handoff, b.handoff_id).reason == "fallback"

    # The first is taken by an operator: the second moves up; the first is told it is being served.
    taken = session.get(Handoff, a.handoff_id)
    taken.status, first.state = "active", "operator"
    session.commit()
    assert request_handoff(session, second, "request").position == 1
    held = request_handoff(session, first, "request")
    assert (held.handoff_id, held.position, held.expected_wait_minutes, held.reused) == (a.handoff_id, 0, 0, True)
    assert first.state == "operator"

    taken.status = "closed"
    first.state = "bot"
    session.commit()
    fresh = request_handoff(session, first, "low_rating")
    assert not fresh.reused and fresh.handoff_id != a.handoff_id and fresh.position == 2


def test_expected_wait_follows_the_settings(session, monkeypatch):
    monkeypatch.setenv("HCC_AVERAGE_HANDLE_MINUTES", "7")
    get_settings.cache_clear()
    for n in range(3):
        ticket = request_handoff(session, get_or_create(session, "zalo", str(n)), "request")
    assert (ticket.position, ticket.expected_wait_minutes) == (3, 21)


def test_a_bad_reason_changes_nothing(session):
    conversation = get_or_create(session, "widget", "w")
    with pytest.raises(ValueError, match="Lý do"):
        request_handoff(session, conversation, "bored")
    with pytest.raises(ValueError, match="Lý do"):
        request_callback(session, conversation, "0912345678", "bored")
    session.commit()
    assert conversation.state == "bot"
    assert session.scalar(select(func.count()).select_from(Handoff)) == 0
    assert session.scalar(select(func.count()).select_from(Ticket)) == 0


def test_concurrent_requests_of_one_conversation_queue_it_once(hcc_env):
    factory = session_factory(hcc_env)
    with factory() as session, session.begin():
        conversation_id = get_or_create(session, "telegram", "42").id
    barrier = threading.Barrier(5)
    results, errors = [], []

    def worker():
        try:
            with factory() as session, session.begin():
                conversation = session.get(Conversation, conversation_id)
                barrier.wait(timeout=10)
                results.append(request_handoff(session, conversation, "request"))
        except Exception as error:  # reported below; a thread cannot fail the test itself
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len({r.handoff_id for r in results}) == 1
    assert sorted(r.reused for r in results) == [False, True, True, True, True]
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Handoff)) == 1


def test_callback_turns_the_waiting_handoff_into_a_callback_ticket(session):
    conversation = get_or_create(session, "telegram", "9")
    queued = request_handoff(session, conversation, "request")
    ticket = request_callback(session, conversation, "0203 3 123 456", "request")
    session.commit()
    assert ticket.kind == "callback" and ticket.contact_phone == "02033123456"
    assert ticket.number.startswith("PA-") and ticket.conversation_id == conversation.id
    assert "gặp tổng đài viên" in ticket.content
    handoff = session.scalars(select(Handoff)).one()
    assert (handoff.id, handoff.status, handoff.callback_phone) == (queued.handoff_id, "callback", "02033123456")
    assert conversation.state == "queued"

    other = get_or_create(session, "zalo", "9")
    request_callback(session, other, "+84 912 345 678", "fallback")
    session.commit()
    created = session.scalars(select(Handoff).where(Handoff.conversation_id == other.id)).one()
    assert (created.status, created.reason, created.callback_phone) == ("callback", "fallback", "0912345678")


def test_a_bad_callback_phone_changes_nothing(session):
    conversation = get_or_create(session, "telegram", "9")
    with pytest.raises(ValueError, match="Số điện thoại"):
        request_callback(session, conversation, "0912", "request")
    session.commit()
    assert conversation.state == "bot"
    assert session.scalar(select(func.count()).select_from(Ticket)) == 0
    assert session.scalar(select(func.count()).select_from(Handoff)) == 0


def test_the_bot_is_silent_only_while_an_operator_holds_the_conversation(session):
    conversation = get_or_create(session, "telegram", "77")
    request_handoff(session, conversation, "request")
    session.commit()
    assert not is_held_by_operator(session, "telegram", "77")
    conversation.state = "operator"
    session.commit()
    assert is_held_by_operator(session, "telegram", "77")
    assert not is_held_by_operator(session, "zalo", "77")
    assert not is_held_by_operator(session, "telegram", "unknown")
