"""Conversations and messages: sender ids, race-safe creation, de-duplicated delivery, transcripts."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from knowledge_base.conversations import (append, get_or_create, messages_after, rasa_sender_id, record_message,
                                          replies_to, split_sender_id, transcript)
from knowledge_base.db import session_factory
from knowledge_base.models import Conversation, Message


@pytest.mark.parametrize("channel, sender", [("telegram", "123"), ("zalo", "84912"), ("widget", "a:b"), ("rest", "telegram:9")])
def test_sender_id_round_trip(channel, sender):
    assert split_sender_id(rasa_sender_id(channel, sender)) == (channel, sender)


def test_sender_ids():
    assert rasa_sender_id("telegram", "123") == "telegram:123"
    assert split_sender_id("abc") == ("rest", "abc")
    assert split_sender_id("facebook:1") == ("rest", "facebook:1")
    assert split_sender_id("telegram:") == ("rest", "telegram:")
    with pytest.raises(ValueError, match="Kênh không hợp lệ"):
        rasa_sender_id("facebook", "1")
    with pytest.raises(ValueError):
        rasa_sender_id("rest", "")


def test_get_or_create_is_one_conversation_per_channel_and_sender(session):
    first = get_or_create(session, "telegram", "123")
    assert first.state == "bot"
    assert get_or_create(session, "telegram", "123").id == first.id
    assert get_or_create(session, "zalo", "123").id != first.id
    session.commit()
    assert session.scalar(select(func.count()).select_from(Conversation)) == 2
    with pytest.raises(ValueError):
        get_or_create(session, "sms", "1")


def test_concurrent_first_messages_make_one_conversation(hcc_env):
    factory = session_factory(hcc_env)
    barrier = threading.Barrier(6)
    ids, errors = [], []

    def worker():
        try:
            with factory() as session, session.begin():
                barrier.wait(timeout=10)
                ids.append(get_or_create(session, "widget", "w-1").id)
        except Exception as error:  # reported below; a thread cannot fail the test itself
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(ids) == 6 and len(set(ids)) == 1
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Conversation)) == 1


def test_record_message_drops_a_repeated_delivery(session):
    conversation = get_or_create(session, "telegram", "7")
    before = conversation.last_message_at
    first = record_message(session, conversation, "in", "citizen", "Làm hộ chiếu cần gì?", external_id="update-1", intent="ask_documents", confidence=0.91)
    assert first is not None and first.id is not None and first.intent == "ask_documents"
    assert record_message(session, conversation, "in", "citizen", "Làm hộ chiếu cần gì?", external_id="update-1") is None
    other = get_or_create(session, "telegram", "8")
    assert record_message(session, other, "in", "citizen", "chào", external_id="update-1") is not None
    reply = record_message(session, conversation, "out", "bot", "Hồ sơ gồm:", payload={"buttons": [{"title": "Xem đầy đủ"}]})
    session.commit()
    assert conversation.last_message_at >= before
    assert conversation.last_message_at == reply.created_at
    stored = session.scalars(select(Message).where(Message.conversation_id == conversation.id).order_by(Message.id)).all()
    assert [(m.author, m.external_id) for m in stored] == [("citizen", "update-1"), ("bot", None)]
    assert stored[1].payload == {"buttons": [{"title": "Xem đầy đủ"}]}


def test_long_external_ids_stay_distinct(session):
    conversation = get_or_create(session, "widget", "w")
    prefix = "x" * 70
    assert record_message(session, conversation, "in", "citizen", "a", external_id=prefix + "1") is not None
    assert record_message(session, conversation, "in", "citizen", "b", external_id=prefix + "2") is not None
    assert record_message(session, conversation, "in", "citizen", "b", external_id=prefix + "2") is None
    session.commit()
    assert session.scalar(select(func.count()).select_from(Message)) == 2


def test_bad_direction_or_author_stores_nothing(session):
    conversation = get_or_create(session, "rest", "r")
    with pytest.raises(ValueError):
        record_message(session, conversation, "sideways", "citizen", "a")
    with pytest.raises(ValueError):
        record_message(session, conversation, "in", "robot", "a")
    session.commit()
    assert session.scalar(select(func.count()).select_from(Message)) == 0


def _rows(session, conversation_id: int) -> list[tuple]:
    return [(m.direction, m.author, m.text, m.payload, m.external_id, m.intent, m.confidence) for m in session.scalars(
        select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id))]


def test_append_writes_the_rows_record_message_writes(session):
    """The per-turn path (plain statements) and the ORM path store the same messages the same way."""
    orm = get_or_create(session, "widget", "orm")
    record_message(session, orm, "in", "citizen", "Làm hộ chiếu cần gì?", external_id="m-1")
    record_message(session, orm, "out", "bot", "Hồ sơ gồm:", payload={"buttons": [{"title": "Xem đầy đủ"}]})
    record_message(session, orm, "out", "bot", "")
    session.commit()
    first = append(session, "widget", "core", "in", "citizen", [("Làm hộ chiếu cần gì?", None)], external_id="m-1")
    second = append(session, "widget", "core", "out", "bot", [("Hồ sơ gồm:", {"buttons": [{"title": "Xem đầy đủ"}]}), (None, None)])
    session.commit()
    assert first.stored and second.stored and first.conversation_id == second.conversation_id
    assert first.state == "bot"
    assert _rows(session, first.conversation_id) == _rows(session, orm.id)
    core = session.get(Conversation, first.conversation_id)
    last = session.scalars(select(Message).where(Message.conversation_id == core.id).order_by(Message.id.desc())).first()
    assert core.last_message_at == last.created_at


def test_append_drops_a_repeated_delivery_and_reports_the_state(session):
    conversation = get_or_create(session, "telegram", "9")
    conversation.state = "operator"
    session.commit()
    assert append(session, "telegram", "9", "in", "citizen", [("chào", None)], external_id="u-1").stored
    again = append(session, "telegram", "9", "in", "citizen", [("chào", None)], external_id="u-1")
    session.commit()
    assert (again.stored, again.state, again.conversation_id) == (False, "operator", conversation.id)
    assert len(_rows(session, conversation.id)) == 1


def test_append_to_a_stored_conversation_keeps_the_order_and_reports_the_state(session):
    """The path of every turn after the first (one statement on PostgreSQL)."""
    conversation = get_or_create(session, "rest", "r-order")
    conversation.state = "operator"
    session.commit()
    before = conversation.last_message_at
    replies = [(f"trả lời {index}", {"buttons": [{"title": str(index)}]} if index % 2 else None) for index in range(12)]
    appended = append(session, "rest", "r-order", "out", "bot", replies)
    session.commit()
    assert (appended.conversation_id, appended.state, appended.stored) == (conversation.id, "operator", True)
    assert [(text, payload) for _, _, text, payload, *_ in _rows(session, conversation.id)] == replies
    session.refresh(conversation)
    assert conversation.last_message_at > before


def test_append_refuses_bad_input_and_stores_nothing(session):
    with pytest.raises(ValueError):
        append(session, "sms", "1", "in", "citizen", [("a", None)])
    with pytest.raises(ValueError):
        append(session, "rest", "r", "sideways", "citizen", [("a", None)])
    with pytest.raises(ValueError):
        append(session, "rest", "r", "in", "citizen", [("a", None), ("b", None)], external_id="two")
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Message)) == 0


def test_transcript_is_the_latest_messages_oldest_first(session):
    conversation = get_or_create(session, "rest", "r")
    for index in range(5):
        record_message(session, conversation, "in" if index % 2 == 0 else "out", "citizen" if index % 2 == 0 else "bot", f"tin {index}")
    session.commit()
    lines = transcript(session, conversation.id, limit=3)
    assert [line["text"] for line in lines] == ["tin 2", "tin 3", "tin 4"]
    assert [line["author"] for line in lines] == ["citizen", "bot", "citizen"]
    assert set(lines[0]) == {"at", "author", "text"}
    assert lines[0]["at"].endswith("+00:00")
    assert len(transcript(session, conversation.id)) == 5


def test_messages_after_pages_forward_from_an_id_or_gives_the_latest(session):
    conversation = get_or_create(session, "widget", "trang-web-0001")
    ids = [record_message(session, conversation, "out", "bot", f"tin {index}").id for index in range(5)]
    get_or_create(session, "widget", "trang-web-0002")  # another conversation's messages never mix in
    record_message(session, get_or_create(session, "widget", "trang-web-0002"), "out", "bot", "khác")
    session.commit()
    assert [m.text for m in messages_after(session, "widget", "trang-web-0001", 0, 2)] == ["tin 3", "tin 4"]
    assert [m.text for m in messages_after(session, "widget", "trang-web-0001", ids[0], 2)] == ["tin 1", "tin 2"]
    assert messages_after(session, "widget", "trang-web-0001", ids[-1], 2) == []
    assert messages_after(session, "widget", "chua-co-hoi-thoai", 0, 2) == []


def test_append_names_the_message_stored_under_the_channels_own_id_then_and_on_a_repeat(session):
    long_id = "y" * 70  # stored hashed: the repeat must find it hashed the same way
    short = append(session, "widget", "w", "in", "citizen", [("a", None)], external_id="c-1")
    long = append(session, "widget", "w", "in", "citizen", [("b", None)], external_id=long_id)
    other = append(session, "widget", "khac", "in", "citizen", [("a", None)], external_id="c-1")
    plain = append(session, "widget", "w", "out", "bot", [("trả lời", None)])
    session.commit()
    texts = dict(session.execute(select(Message.id, Message.text)).all())
    assert (texts[short.message_id], texts[long.message_id], texts[other.message_id]) == ("a", "b", "a")
    assert len({short.message_id, long.message_id, other.message_id}) == 3 and plain.message_id is None
    assert append(session, "widget", "w", "in", "citizen", [("a", None)], external_id="c-1").message_id == short.message_id
    assert append(session, "widget", "w", "in", "citizen", [("b", None)], external_id=long_id).message_id == long.message_id


def test_replies_to_a_message_are_the_outbound_ones_up_to_the_citizens_next_message(session):
    first = append(session, "rest", "r", "in", "citizen", [("hỏi 1", None)], external_id="m-1")
    append(session, "rest", "r", "out", "bot", [("đáp 1a", {"buttons": []}), ("đáp 1b", None)])
    second = append(session, "rest", "r", "in", "citizen", [("hỏi 2", None)], external_id="m-2")
    append(session, "rest", "r", "out", "bot", [("đáp 2", None)])
    unanswered = append(session, "rest", "r", "in", "citizen", [("hỏi 3", None)], external_id="m-3")
    session.commit()
    assert [(m.text, m.payload) for m in replies_to(session, "rest", "r", first.message_id)] == [
        ("đáp 1a", {"buttons": []}), ("đáp 1b", None)]
    assert [m.text for m in replies_to(session, "rest", "r", second.message_id)] == ["đáp 2"]
    assert replies_to(session, "rest", "r", unanswered.message_id) == []
