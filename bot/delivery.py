"""Live delivery to citizens: the open sockets of each conversation in this process, and what they carry.

Contract for code that writes to a citizen from outside the bot (the operator console, issue #6): store
the message first (``conversations.record_message``), then ``await deliver(channel, sender, outbound(message))``
on the gateway's event loop. A conversation with no open socket loses nothing: its widget asks for
everything after the last message id it saw when it reconnects.
"""
from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from datetime import timezone
from typing import Awaitable, Callable

from sqlalchemy.engine import Row

from knowledge_base import conversations
from knowledge_base.db import session_factory
from knowledge_base.models import Message

log = logging.getLogger(__name__)

# Called with one outbound() dict, a transient frame such as {"type": "typing", "on": True}, or None
# meaning "new messages are stored: read them".
Listener = Callable[[dict | None], Awaitable[None]]

_listeners: dict[tuple[str, str], set[Listener]] = defaultdict(set)


def register(channel: str, sender: str, listener: Listener) -> None:
    _listeners[(channel, sender)].add(listener)


def unregister(channel: str, sender: str, listener: Listener) -> None:
    listeners = _listeners.get((channel, sender))
    if listeners is not None:
        listeners.discard(listener)
        if not listeners:
            del _listeners[(channel, sender)]


def listening(channel: str, sender: str) -> int:
    """How many sockets of this conversation are open in this process."""
    return len(_listeners.get((channel, sender), ()))


async def deliver(channel: str, sender: str, message: dict) -> int:
    """Push one stored message (an ``outbound()`` dict) or a transient frame ({"type": "typing", "on": bool})
    to the conversation's open sockets; how many took it."""
    return await _call(channel, sender, message)


async def announce(channel: str, sender: str) -> int:
    """Tell the conversation's open sockets that new messages are stored, so each sends what it has not yet."""
    return await _call(channel, sender, None)


async def _call(channel: str, sender: str, message: dict | None) -> int:
    listeners = list(_listeners.get((channel, sender), ()))
    results = await asyncio.gather(*(listener(message) for listener in listeners), return_exceptions=True)
    for listener, result in zip(listeners, results):
        if isinstance(result, BaseException):
            # A socket that cannot take a message is gone; the message stays stored for its next connection.
            log.info("dropping a %s socket that failed to deliver: %s", channel, type(result).__name__)
            unregister(channel, sender, listener)
    return sum(not isinstance(result, BaseException) for result in results)


def outbound(message: Message | Row) -> dict:
    """A stored message (or a row of the messages table) as the channels show it: id, author, text, buttons,
    at (ISO 8601 UTC), client_id."""
    payload = message.payload if isinstance(message.payload, dict) else {}
    buttons = [
        {"title": str(button.get("title") or button.get("payload") or ""), "payload": str(button.get("payload") or "")}
        for button in payload.get("buttons") or [] if isinstance(button, dict)
    ]
    return {
        "id": message.id,
        "author": message.author,
        "text": message.text,
        "buttons": buttons,
        "at": message.created_at.replace(tzinfo=timezone.utc).isoformat(),
        # The citizen's own id for the message, so the page that sent it can match it (None for the bot's).
        "client_id": message.external_id if message.direction == "in" else None,
    }


def stored_after(channel: str, sender: str, after: int, limit: int) -> list[dict]:
    """``conversations.messages_after`` as ``outbound()`` dicts: what a (re)connecting socket has not shown yet."""
    with session_factory()() as session:
        return [outbound(message) for message in conversations.messages_after(session, channel, sender, after, limit)]
