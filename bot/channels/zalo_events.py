"""Zalo OA webhook events: the signature check, the replay bound, and what an event means for the bot.

Zalo signs each event with ``X-ZEvent-Signature: mac=<sha256 hex of app_id + raw body + timestamp + OA secret>``,
where ``app_id`` and ``timestamp`` (milliseconds) are read from the event's own JSON."""
from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass

SIGNATURE_HEADER = "X-ZEvent-Signature"
FUTURE_SKEW_MS = 300_000  # a clock ahead by more than this is not Zalo's


class Refused(Exception):
    """The event is not Zalo's (bad or missing signature) or is too old to be a fresh delivery."""


@dataclass(frozen=True)
class Event:
    name: str  # Zalo's event_name: user_send_text, follow, unfollow, user_send_image …
    user_id: str  # the citizen (sender.id; follower.id for follow/unfollow)
    event_id: str  # stable per delivery of the same event: deduplicates Zalo's retries
    text: str | None  # the text (a pressed button's payload comes back as text), None for other events


def signature(app_id: str, body: bytes, timestamp: str, oa_secret: str) -> str:
    """The header value Zalo sends for ``body``."""
    digest = hashlib.sha256(app_id.encode() + body + timestamp.encode() + oa_secret.encode()).hexdigest()
    return f"mac={digest}"


def verified(body: bytes, header: str, app_id: str, oa_secret: str, max_age: int, now_ms: int | None = None) -> Event:
    """The event in ``body`` once its signature and age are checked; Refused otherwise, ValueError when malformed."""
    try:
        data = json.loads(body)
    except ValueError as error:
        raise Refused("không đọc được sự kiện") from error
    if not isinstance(data, dict):
        raise Refused("không đọc được sự kiện")
    timestamp = str(data.get("timestamp") or "")
    given = header.strip()
    if not given.lower().startswith("mac="):
        given = f"mac={given}"  # some consoles show the bare digest
    expected = signature(str(data.get("app_id") or ""), body, timestamp, oa_secret)
    if str(data.get("app_id") or "") != app_id or not hmac.compare_digest(given.lower().encode(), expected.encode()):
        raise Refused("sai chữ ký")
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    if not timestamp.isdigit() or not -FUTURE_SKEW_MS <= now_ms - int(timestamp) <= max_age * 1000:
        raise Refused("sự kiện quá cũ hoặc sai thời điểm")
    return parse(data)


def parse(data: dict) -> Event:
    """What a signed event asks of the bot (ValueError when it names no citizen)."""
    name = str(data.get("event_name") or "")
    who = data.get("follower") if name in ("follow", "unfollow") else data.get("sender")
    user_id = str((who or {}).get("id") or "") if isinstance(who, dict) else ""
    if not user_id:
        raise ValueError("sự kiện không có người gửi")
    message = data.get("message") if isinstance(data.get("message"), dict) else {}
    msg_id = str(message.get("msg_id") or "")
    # Retries carry the same msg_id; events without one (follow) are told apart by their timestamp.
    event_id = f"zalo:{msg_id}" if msg_id else f"zalo:{name}:{data.get('timestamp')}"
    text = message.get("text") if name == "user_send_text" else None
    return Event(name=name, user_id=user_id, event_id=event_id, text=str(text) if text is not None else None)
