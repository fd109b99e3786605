"""Conversations and their messages, keyed by channel and the channel's own sender id."""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import takewhile
from typing import Any, Sequence

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy import text as sql
from sqlalchemy.engine import Row
from sqlalchemy.sql import Select
from sqlalchemy.orm import Session

from knowledge_base.insert_once import insert_once
from knowledge_base.models import Conversation, Message
from knowledge_base.office_time import utc_naive

CHANNELS = ("rest", "widget", "telegram", "zalo")
DIRECTIONS = ("in", "out")
AUTHORS = ("citizen", "bot", "operator", "system")
SENDER_MAX = 128  # conversations.sender_id
EXTERNAL_ID_MAX = 64  # messages.external_id
# A message id a web client chooses (widget client_id, REST message_id): stored as it is, never hashed.
CLIENT_MESSAGE_ID = re.compile(r"[A-Za-z0-9_-]{1,%d}" % EXTERNAL_ID_MAX)


def rasa_sender_id(channel: str, sender: str) -> str:
    """'telegram', '123' → 'telegram:123'; REST senders are prefixed too, so none can pose as another channel."""
    _check_sender(channel, sender)
    return f"{channel}:{sender}"


def split_sender_id(value: str) -> tuple[str, str]:
    """The inverse of rasa_sender_id; an id without a known channel prefix is a REST sender."""
    channel, separator, sender = value.partition(":")
    if separator and channel in CHANNELS and sender:
        return channel, sender
    return "rest", value


def _check_sender(channel: str, sender: str) -> None:
    if channel not in CHANNELS:
        raise ValueError(f"Kênh không hợp lệ: {channel!r} (chỉ nhận {', '.join(CHANNELS)}).")
    if not sender or len(sender) > SENDER_MAX:
        raise ValueError(f"Mã người gửi phải có từ 1 đến {SENDER_MAX} ký tự.")


def find(session: Session, channel: str, sender: str) -> Conversation | None:
    return session.scalars(
        select(Conversation).where(Conversation.channel == channel, Conversation.sender_id == sender)
    ).first()


def get_or_create(session: Session, channel: str, sender: str) -> Conversation:
    """The sender's conversation on ``channel``, created on first contact (once, even when two messages race)."""
    _check_sender(channel, sender)
    conversation = find(session, channel, sender)
    if conversation is None:
        _create(session, channel, sender)
        conversation = find(session, channel, sender)
    return conversation  # type: ignore[return-value]


def _create(session: Session, channel: str, sender: str) -> None:
    now = utc_naive()
    row = {"channel": channel, "sender_id": sender, "state": "bot", "created_at": now, "last_message_at": now}
    insert_once(session, Conversation, row, ["channel", "sender_id"])


@dataclass(frozen=True)
class Appended:
    """What :func:`append` did: the conversation's id and state, and whether the messages were new."""

    conversation_id: int
    state: str
    stored: bool  # False when the channel delivered ``external_id`` to this conversation before
    message_id: int | None = None  # the message delivered under ``external_id`` (stored now or before)


_conversations = Conversation.__table__
_messages = Message.__table__
# Built once: composing a statement's expressions cost more CPU than running it, twice every turn.
_STATE = select(_conversations.c.id, _conversations.c.state).where(
    _conversations.c.channel == bindparam("channel"), _conversations.c.sender_id == bindparam("sender"))
_TOUCH = update(_conversations).where(_conversations.c.id == bindparam("conversation")).values(
    last_message_at=bindparam("at"))
_DELIVERED = select(_messages.c.id).where(
    _messages.c.conversation_id == bindparam("conversation"), _messages.c.external_id == bindparam("external_id"))
# PostgreSQL: the conversation touched and its messages stored by one statement, in their order; no row back when
# the conversation is not stored yet. One round trip where the portable statements take three.
_APPEND_POSTGRES = sql("""
WITH touched AS (
    UPDATE conversations SET last_message_at = :at WHERE channel = :channel AND sender_id = :sender
    RETURNING id, state
), stored AS (
    INSERT INTO messages (conversation_id, direction, author, text, payload, created_at)
    SELECT touched.id, item ->> 'direction', item ->> 'author', item ->> 'text', CAST(item -> 'payload' AS json), :at
    FROM touched, jsonb_array_elements(CAST(:rows AS jsonb)) WITH ORDINALITY AS given(item, position)
    ORDER BY given.position
)
SELECT id, state FROM touched
""")


def append(
    session: Session,
    channel: str,
    sender: str,
    direction: str,
    author: str,
    messages: Sequence[tuple[str, Any]],
    external_id: str | None = None,
) -> Appended:
    """Store (text, payload) messages at the end of the sender's conversation, created on first contact.

    The same rows as :func:`record_message`, written as plain statements (on PostgreSQL one, for a conversation
    already stored): this runs twice every turn, and the ORM's unit of work cost more CPU than the turn's SQL itself."""
    _check_sender(channel, sender)
    if external_id is not None and len(messages) != 1:
        raise ValueError("Mã tin nhắn của kênh (external_id) chỉ gắn với đúng một tin nhắn.")
    key, now = {"channel": channel, "sender": sender}, utc_naive()
    rows = [_message_row(None, direction, author, text, payload, now) for text, payload in messages]
    if external_id is None and session.get_bind().dialect.name == "postgresql":
        given = [{name: row[name] for name in ("direction", "author", "text", "payload")} for row in rows]
        conversation = session.execute(_APPEND_POSTGRES, {**key, "at": now, "rows": json.dumps(given)}).first()
        if conversation is not None:
            return Appended(conversation.id, conversation.state, stored=True)
    conversation = session.execute(_STATE, key).first()
    if conversation is None:
        _create(session, channel, sender)
        conversation = session.execute(_STATE, key).one()
    rows = [{**row, "conversation_id": conversation.id} for row in rows]
    message_id = None
    if external_id is not None:
        delivered = _external_key(str(external_id))
        message_id = insert_once(session, Message, {**rows[0], "external_id": delivered}, ["conversation_id", "external_id"])
        if message_id is None:
            message_id = session.execute(_DELIVERED, {"conversation": conversation.id, "external_id": delivered}).scalar()
            return Appended(conversation.id, conversation.state, stored=False, message_id=message_id)
    elif rows:
        session.execute(insert(_messages), rows)
    session.execute(_TOUCH, {"conversation": conversation.id, "at": now})
    return Appended(conversation.id, conversation.state, stored=True, message_id=message_id)


def _message_row(conversation_id: int | None, direction: str, author: str, text: str, payload: Any, now: datetime,
                 intent: str | None = None, confidence: float | None = None) -> dict[str, Any]:
    if direction not in DIRECTIONS:
        raise ValueError(f"Chiều tin nhắn không hợp lệ: {direction!r} (chỉ nhận in, out).")
    if author not in AUTHORS:
        raise ValueError(f"Người viết không hợp lệ: {author!r} (chỉ nhận {', '.join(AUTHORS)}).")
    return {"conversation_id": conversation_id, "direction": direction, "author": author, "text": text or "",
            "payload": payload, "intent": intent, "confidence": confidence, "created_at": now}


def record_message(
    session: Session,
    conversation: Conversation,
    direction: str,
    author: str,
    text: str,
    payload: Any = None,
    external_id: str | None = None,
    intent: str | None = None,
    confidence: float | None = None,
) -> Message | None:
    """Store one message; None when the channel delivered ``external_id`` to this conversation before."""
    now = utc_naive()
    row = _message_row(conversation.id, direction, author, text, payload, now, intent, confidence)
    if external_id is None:
        message = Message(**row)
        session.add(message)
    else:
        row = {**row, "external_id": _external_key(str(external_id))}
        inserted = insert_once(session, Message, row, ["conversation_id", "external_id"])
        if inserted is None:
            return None
        message = session.get(Message, inserted)
    conversation.last_message_at = now
    session.flush()
    return message


def _external_key(external_id: str) -> str:
    # Hashed rather than cut when too long: two ids sharing a prefix must stay two messages.
    if len(external_id) <= EXTERNAL_ID_MAX:
        return external_id
    return "sha256:" + hashlib.sha256(external_id.encode()).hexdigest()[: EXTERNAL_ID_MAX - 7]


def messages_after(session: Session, channel: str, sender: str, after: int, limit: int) -> list[Row]:
    """Up to ``limit`` messages (rows of the messages table) of the sender's conversation after id ``after``,
    oldest first; the last ``limit`` when ``after`` is 0; none for a conversation not stored yet."""
    key = {"channel": channel, "sender": sender, "after": after, "limit": limit}
    if after <= 0:
        return list(reversed(session.execute(_LATEST, key).all()))
    return list(session.execute(_AFTER, key).all())


def replies_to(session: Session, channel: str, sender: str, message_id: int, limit: int = 20) -> list[Row]:
    """The messages sent to the citizen right after message ``message_id``, up to their next message."""
    rows = messages_after(session, channel, sender, message_id, limit)
    return list(takewhile(lambda row: row.direction == "out", rows))


def _in_conversation(statement: Select) -> Select:
    return statement.join(_conversations, _conversations.c.id == _messages.c.conversation_id).where(
        _conversations.c.channel == bindparam("channel"), _conversations.c.sender_id == bindparam("sender"))


# What every open widget reads after each turn: one statement, built once, and no ORM objects.
_AFTER = _in_conversation(select(_messages)).where(_messages.c.id > bindparam("after")).order_by(
    _messages.c.id).limit(bindparam("limit"))
_LATEST = _in_conversation(select(_messages)).order_by(_messages.c.id.desc()).limit(bindparam("limit"))


def _latest(session: Session, conversation_id: int, limit: int) -> list[Message]:
    """The last ``limit`` messages of the conversation, oldest first."""
    newest_first = session.scalars(
        select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id.desc()).limit(limit)
    ).all()
    return list(reversed(newest_first))


def transcript(session: Session, conversation_id: int, limit: int = 50) -> list[dict]:
    """The last ``limit`` messages, oldest first, as {"at": ISO 8601 UTC, "author", "text"}."""
    return [
        {"at": m.created_at.replace(tzinfo=timezone.utc).isoformat(), "author": m.author, "text": m.text}
        for m in _latest(session, conversation_id, limit)
    ]
