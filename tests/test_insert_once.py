"""insert_once: one row per unique key, the model's defaults and types as the ORM's insert gives them."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from knowledge_base.insert_once import insert_once
from knowledge_base.models import Conversation, Message


def _conversation(session) -> int:
    key = insert_once(session, Conversation, {"channel": "widget", "sender_id": "a" * 16}, ["channel", "sender_id"])
    assert isinstance(key, int)
    return key


def test_returns_the_new_key_then_none_for_the_same_unique_key(session):
    conversation = _conversation(session)
    row = {"conversation_id": conversation, "direction": "in", "author": "citizen", "text": "xin chào",
           "external_id": "m1"}
    first = insert_once(session, Message, row, ["conversation_id", "external_id"])
    again = insert_once(session, Message, {**row, "text": "khác"}, ["conversation_id", "external_id"])
    assert first is not None and again is None
    assert session.scalars(select(Message.text).where(Message.conversation_id == conversation)).all() == ["xin chào"]
    session.commit()


def test_fills_the_column_defaults_and_stores_json_and_dates(session):
    conversation = _conversation(session)
    assert insert_once(session, Conversation, {"channel": "widget", "sender_id": "a" * 16},
                       ["channel", "sender_id"]) is None
    stored = session.get(Conversation, conversation)
    assert stored.state == "bot" and isinstance(stored.created_at, datetime)  # scalar and callable defaults
    payload = {"buttons": [{"title": "Hộ chiếu", "payload": "/ask"}]}
    key = insert_once(session, Message, {"conversation_id": conversation, "direction": "out", "author": "bot",
                                         "payload": payload, "external_id": "r1"}, ["conversation_id", "external_id"])
    message = session.get(Message, key)
    assert message.payload == payload and message.text == "" and isinstance(message.created_at, datetime)
    assert session.scalar(select(func.count()).select_from(Message)) == 1
    session.commit()
