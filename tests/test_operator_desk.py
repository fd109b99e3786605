"""The operator desk: one winner per take, transfer, notes, close, grace-period requeue (SQLite and PostgreSQL)."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from knowledge_base import operator_desk
from knowledge_base.conversations import get_or_create, record_message
from knowledge_base.db import session_factory
from knowledge_base.handoffs import is_held_by_operator, request_handoff
from knowledge_base.models import Conversation, Handoff, StaffUser
from knowledge_base.office_time import utc_naive
from knowledge_base.operator_desk import DeskError


def staff(session, username: str, role: str = "operator", active: bool = True) -> int:
    user = StaffUser(username=username, full_name=f"Nguyễn {username.title()}", role=role, password_hash="x", active=active)
    session.add(user)
    session.flush()
    return user.id


def escalate(session, sender: str, text: str = "cho tôi gặp người thật", reason: str = "request", channel: str = "widget") -> int:
    conversation = get_or_create(session, channel, sender)
    record_message(session, conversation, "in", "citizen", text)
    return request_handoff(session, conversation, reason).handoff_id


def test_queue_lists_reason_channel_wait_and_the_last_citizen_message(session):
    first = escalate(session, "citizen-aaaaaaaaaaaa", "tôi muốn gặp tổng đài viên")
    second = escalate(session, "4242", "bot trả lời sai", "fallback", channel="telegram")
    session.commit()
    later = utc_naive() + timedelta(seconds=90)
    items = operator_desk.queue(session, now=later)
    assert [item.handoff_id for item in items] == [first, second]
    assert items[1].channel == "telegram" and items[1].reason == "fallback"
    assert items[1].reason_label == "Trợ lý ảo chưa hiểu câu hỏi"
    assert items[1].last_message == "bot trả lời sai"
    assert 89 <= items[0].waiting_seconds <= 91
    # The conversation's latest citizen message: not an earlier one, not the bot's, not another conversation's.
    conversation = get_or_create(session, "widget", "citizen-aaaaaaaaaaaa")
    record_message(session, conversation, "in", "citizen", "tôi đợi lâu quá")
    record_message(session, conversation, "out", "bot", "Anh/chị vui lòng chờ trong giây lát.")
    record_message(session, get_or_create(session, "telegram", "4242"), "out", "bot", "Dạ vâng.")
    session.commit()
    assert [item.last_message for item in operator_desk.queue(session)] == ["tôi đợi lâu quá", "bot trả lời sai"]


def test_take_holds_the_conversation_and_a_second_take_is_told(session):
    handoff_id = escalate(session, "citizen-bbbbbbbbbbbb")
    lan, minh = staff(session, "lan"), staff(session, "minh")
    session.commit()
    held = operator_desk.take(session, handoff_id, lan)
    session.commit()
    assert held.operator_name == "Nguyễn Lan" and held.channel == "widget"
    assert is_held_by_operator(session, "widget", "citizen-bbbbbbbbbbbb")
    with pytest.raises(DeskError, match="đã có người nhận") as refused:
        operator_desk.take(session, handoff_id, minh)
    assert refused.value.status == 409
    session.rollback()
    assert session.get(Handoff, handoff_id, populate_existing=True).operator_id == lan


def test_two_operators_taking_at_once_exactly_one_wins(hcc_env):
    factory = session_factory(hcc_env)
    with factory() as session:
        operators = [staff(session, f"op{n}") for n in range(4)]
        handoffs = [escalate(session, f"citizen-race-{n:08d}") for n in range(6)]
        session.commit()
    for handoff_id in handoffs:
        barrier = threading.Barrier(len(operators))
        outcomes: dict[int, str] = {}

        def attempt(staff_id: int) -> None:
            with factory() as session:
                barrier.wait()
                try:
                    operator_desk.take(session, handoff_id, staff_id)
                    session.commit()
                    outcomes[staff_id] = "won"
                except DeskError as error:
                    session.rollback()
                    outcomes[staff_id] = str(error)

        threads = [threading.Thread(target=attempt, args=(staff_id,)) for staff_id in operators]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        winners = [staff_id for staff_id, outcome in outcomes.items() if outcome == "won"]
        assert len(winners) == 1, outcomes
        assert all("đã có người nhận" in outcome for outcome in outcomes.values() if outcome != "won")
        with factory() as session:
            handoff = session.get(Handoff, handoff_id)
            conversation = session.get(Conversation, handoff.conversation_id)
            assert (handoff.status, handoff.operator_id) == ("active", winners[0])
            assert (conversation.state, conversation.assigned_to) == ("operator", winners[0])


def test_a_locked_account_cannot_take(session):
    handoff_id = escalate(session, "citizen-cccccccccccc")
    locked = staff(session, "khoa", active=False)
    session.commit()
    with pytest.raises(DeskError, match="khóa"):
        operator_desk.take(session, handoff_id, locked)
    session.rollback()
    assert session.get(Handoff, handoff_id, populate_existing=True).status == "waiting"


def test_transfer_only_by_the_holder_or_an_admin(session):
    handoff_id = escalate(session, "citizen-dddddddddddd")
    lan, minh, hoa = staff(session, "lan"), staff(session, "minh"), staff(session, "hoa")
    boss = staff(session, "sep", role="admin")
    operator_desk.take(session, handoff_id, lan)
    session.commit()
    with pytest.raises(DeskError, match="không giữ"):
        operator_desk.transfer(session, handoff_id, minh, hoa)
    session.rollback()
    held = operator_desk.transfer(session, handoff_id, lan, minh)
    session.commit()
    assert held.operator_id == minh and session.get(Conversation, held.conversation_id).assigned_to == minh
    held = operator_desk.transfer(session, handoff_id, boss, hoa, any_holder=True)
    session.commit()
    assert session.get(Handoff, handoff_id, populate_existing=True).operator_id == hoa


def test_close_returns_the_conversation_to_the_bot_with_its_outcome(session):
    handoff_id = escalate(session, "citizen-eeeeeeeeeeee")
    lan, minh = staff(session, "lan"), staff(session, "minh")
    operator_desk.take(session, handoff_id, lan)
    session.commit()
    with pytest.raises(DeskError, match="Kết quả xử lý không hợp lệ"):
        operator_desk.close(session, handoff_id, lan, "xong")
    with pytest.raises(DeskError):
        operator_desk.close(session, handoff_id, minh, "resolved")
    session.rollback()
    operator_desk.close(session, handoff_id, lan, "resolved")
    session.commit()
    handoff = session.get(Handoff, handoff_id, populate_existing=True)
    conversation = session.get(Conversation, handoff.conversation_id, populate_existing=True)
    assert (handoff.status, handoff.outcome) == ("closed", "resolved") and handoff.closed_at is not None
    assert (conversation.state, conversation.assigned_to) == ("bot", None)
    assert not is_held_by_operator(session, "widget", "citizen-eeeeeeeeeeee")
    assert operator_desk.queue(session) == []
    with pytest.raises(DeskError, match="không còn"):
        operator_desk.close(session, handoff_id, lan, "resolved")


def test_notes_are_kept_per_conversation_and_checked(session):
    handoff_id = escalate(session, "citizen-ffffffffffff")
    lan = staff(session, "lan")
    with pytest.raises(DeskError, match="trống"):
        operator_desk.add_note(session, handoff_id, lan, "   ")
    with pytest.raises(DeskError, match="quá dài"):
        operator_desk.add_note(session, handoff_id, lan, "x" * (operator_desk.NOTE_MAX + 1))
    operator_desk.add_note(session, handoff_id, lan, "Công dân hỏi về hộ chiếu, đã gửi hướng dẫn.")
    operator_desk.add_note(session, handoff_id, lan, "dán từ tệp\x00")  # PostgreSQL refuses NUL in text
    session.commit()
    conversation_id = session.get(Handoff, handoff_id).conversation_id
    first, pasted = operator_desk.notes(session, conversation_id)
    assert first["author"] == "Nguyễn Lan" and first["text"].startswith("Công dân hỏi")
    assert pasted["text"] == "dán từ tệp\ufffd"


def test_an_abandoned_hold_returns_to_the_queue_after_the_grace_period(session, monkeypatch):
    monkeypatch.setenv("HCC_OPERATOR_GRACE_SECONDS", "120")
    from bot.settings import get_settings
    get_settings.cache_clear()
    handoff_id = escalate(session, "citizen-gggggggggggg")
    kept_id = escalate(session, "citizen-hhhhhhhhhhhh")
    lan, minh = staff(session, "lan"), staff(session, "minh")
    start = utc_naive()
    operator_desk.take(session, handoff_id, lan, now=start)
    operator_desk.take(session, kept_id, minh, now=start)
    session.commit()
    # Minh's console is connected (heartbeats); Lan's dropped at ``start``.
    operator_desk.heartbeat(session, [minh], now=start + timedelta(seconds=100))
    assert operator_desk.requeue_abandoned(session, now=start + timedelta(seconds=119)) == []
    requeued = operator_desk.requeue_abandoned(session, now=start + timedelta(seconds=121))
    session.commit()
    assert [held.handoff_id for held in requeued] == [handoff_id]
    handoff = session.get(Handoff, handoff_id, populate_existing=True)
    conversation = session.get(Conversation, handoff.conversation_id, populate_existing=True)
    assert (handoff.status, handoff.operator_id, conversation.state, conversation.assigned_to) == ("waiting", None, "queued", None)
    assert session.get(Handoff, kept_id, populate_existing=True).status == "active"
    # Back in the queue, it can be taken again.
    assert operator_desk.take(session, handoff_id, minh).operator_id == minh


def test_the_queue_signature_changes_with_the_queue(session):
    before = operator_desk.queue_signature(session)
    handoff_id = escalate(session, "citizen-iiiiiiiiiiii")
    lan = staff(session, "lan")
    queued = operator_desk.queue_signature(session)
    operator_desk.take(session, handoff_id, lan)
    taken = operator_desk.queue_signature(session)
    conversation = session.scalars(select(Conversation).where(Conversation.sender_id == "citizen-iiiiiiiiiiii")).one()
    record_message(session, conversation, "in", "citizen", "còn đó không?")
    assert len({before, queued, taken, operator_desk.queue_signature(session)}) == 4
