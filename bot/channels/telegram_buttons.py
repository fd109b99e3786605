"""Rasa buttons as Telegram inline keyboards, and the pressed button's callback data back to its payload.

Telegram limits callback data to 64 bytes. A payload that fits is sent as is; a longer one is sent as
``#h:`` + a hash of it, which is resolved against the buttons the router stored with the conversation's
bot replies, so it survives a restart without a table of its own (and only offered payloads resolve)."""
from __future__ import annotations

import base64
import hashlib

from sqlalchemy import select
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from knowledge_base import conversations
from knowledge_base.db import session_factory
from knowledge_base.models import Message

CALLBACK_DATA_MAX = 64  # bytes, Bot API
HASHED = "#h:"
# Keyboards older than this many bot replies are no longer resolved: the citizen is asked to type instead.
SEARCHED_REPLIES = 200


def _digest(payload: str) -> str:
    return HASHED + base64.urlsafe_b64encode(hashlib.sha256(payload.encode()).digest()[:18]).decode()


def callback_data(payload: str) -> str:
    """What a button with ``payload`` carries: the payload itself when it fits (and cannot pass for a hash)."""
    if payload and len(payload.encode()) <= CALLBACK_DATA_MAX and not payload.startswith(HASHED):
        return payload
    return _digest(payload)


def keyboard(buttons: list[dict]) -> InlineKeyboardMarkup | None:
    """One button a row (Vietnamese titles are long); None when there is no usable button."""
    rows = [[InlineKeyboardButton(str(button["title"]), callback_data=callback_data(str(button["payload"])))]
            for button in buttons if isinstance(button, dict) and button.get("title") and button.get("payload")]
    return InlineKeyboardMarkup(rows) if rows else None


def payload_for(chat: str, data: str) -> str | None:
    """The payload behind a pressed button's callback ``data`` in ``chat``; None when it is not known (any more)."""
    if not data.startswith(HASHED):
        return data
    with session_factory()() as session:
        conversation = conversations.find(session, "telegram", chat)
        if conversation is None:
            return None
        stored = session.scalars(
            select(Message.payload).where(Message.conversation_id == conversation.id, Message.direction == "out")
            .order_by(Message.id.desc()).limit(SEARCHED_REPLIES)
        ).all()
    for extra in stored:
        buttons = extra.get("buttons") if isinstance(extra, dict) else None
        for button in buttons if isinstance(buttons, list) else []:
            payload = button.get("payload") if isinstance(button, dict) else None
            if isinstance(payload, str) and _digest(payload) == data:
                return payload
    return None
