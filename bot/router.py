"""The conversation router: store every inbound message first, then let the bot answer unless an operator holds it."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy.exc import SQLAlchemyError

from bot import rasa_client, ratelimit, turn_threads
from bot.console import hub as console_hub
from bot.settings import get_settings
from bot.turn_locks import TurnLocks
from bot.typed_commands import rasa_text
from knowledge_base import conversations, handoffs
from knowledge_base.db import transaction
from knowledge_base.textfold import storable

log = logging.getLogger(__name__)
# One turn at a time per conversation on this instance: a redelivered message then finds its first delivery's
# replies stored, or none because that delivery was stored and then failed (its answer is still owed).
_turns = TurnLocks()


class StorageUnavailable(Exception):
    """The inbound message could not be stored, so it was not accepted (the channel says so)."""


@dataclass(frozen=True)
class Inbound:
    duplicate: bool
    held: bool  # an operator answers this conversation; the bot stays silent
    message_id: int | None  # the stored message, when the channel gave it an id of its own


@dataclass(frozen=True)
class Turn:
    """The replies to one citizen message, and the id under which the message is stored (None: not accepted)."""

    replies: list[dict]
    accepted: int | None
    answered_before: list[dict] = field(default_factory=list)  # a redelivered message: the replies it got then


def storage_unavailable_text() -> str:
    return (f"Hệ thống tạm thời chưa nhận được tin nhắn. Anh/chị vui lòng gửi lại sau ít phút "
            f"hoặc gọi đường dây nóng {get_settings().hotline}.")


def _apology_text() -> str:
    return (f"Xin lỗi, trợ lý ảo đang gián đoạn. Tin nhắn của anh/chị đã được ghi nhận; anh/chị vui lòng "
            f"thử lại sau ít phút hoặc gọi đường dây nóng {get_settings().hotline}.")


def _rejection(text: str) -> str | None:
    """Why ``text`` is not accepted (Vietnamese, for the citizen), or None when it is fine."""
    if not text:
        return "Anh/chị vui lòng nhập nội dung cần hỏi."
    limit = get_settings().max_message_chars
    if len(text) > limit:
        return f"Tin nhắn quá dài (tối đa {limit} ký tự). Anh/chị vui lòng gửi ngắn gọn hơn hoặc chia thành nhiều tin."
    return None


def _rate_limits(channel: str, sender: str, client_ip: str | None) -> dict[str, int]:
    settings = get_settings()
    limits = {f"sender:{channel}:{sender}": settings.rate_limit_per_minute}
    if client_ip:
        limits[f"ip:{client_ip}"] = settings.rate_limit_per_ip_per_minute
    return limits


def _store_inbound(channel: str, sender: str, text: str, external_id: str | None) -> Inbound:
    with transaction() as session:
        appended = conversations.append(session, channel, sender, "in", "citizen", [(text, None)], external_id)
        # The state read in this same transaction: reading it again cost a query per turn.
        return Inbound(duplicate=not appended.stored, held=handoffs.held(appended.state), message_id=appended.message_id)


def _replies_to(channel: str, sender: str, message_id: int) -> list[dict]:
    with transaction() as session:
        rows = conversations.replies_to(session, channel, sender, message_id)
    return [{"recipient_id": sender, "text": row.text, **(row.payload or {})} for row in rows]


def _store_outbound(channel: str, sender: str, author: str, replies: list[dict]) -> None:
    with transaction() as session:
        conversations.append(session, channel, sender, "out", author,
                             [(reply.get("text") or "", _payload(reply)) for reply in replies])


def _payload(reply: dict) -> dict | None:
    """What a reply carries besides its text (buttons, attachments), or None."""
    return {key: value for key, value in reply.items() if key not in ("recipient_id", "text")} or None


def _addressed(sender: str, message: dict) -> dict:
    """A Rasa reply addressed to the citizen's own sender id (Rasa only knows ``channel:sender``)."""
    return {"recipient_id": sender, **{key: value for key, value in message.items() if key != "recipient_id"}}


async def handle_message(channel: str, sender: str, text: str, external_id: str | None = None,
                         client_ip: str | None = None) -> list[dict]:
    """The replies to one citizen message, in Rasa's REST format; [] for a message answered before or while an
    operator holds the conversation."""
    return (await handle(channel, sender, text, external_id, client_ip)).replies


async def handle(channel: str, sender: str, text: str, external_id: str | None = None,
                 client_ip: str | None = None) -> Turn:
    """:func:`handle_message`, also saying under which id the message is stored (channels with their own ids).

    Over the rate limit the message is refused (not stored) with a reply saying when to send it again.
    ``client_ip`` (web channels) is rate-limited too, and lets the actions limit dossier guessing per address."""
    text = storable(text).strip()  # a NUL or a lone surrogate would cost the whole message: keep the rest
    verdict = await ratelimit.checked(_rate_limits(channel, sender, client_ip))
    if not verdict.allowed:
        # Refused means not accepted: nothing is stored, and the reply asks the citizen to send it again.
        log.info("%s message from %s refused by the rate limit", channel, sender)
        return Turn([{"recipient_id": sender, "text": ratelimit.refusal_text(verdict.retry_after)}], None)
    rejection = _rejection(text)
    if rejection is not None:
        return Turn([{"recipient_id": sender, "text": rejection}], None)
    async with _turns(f"{channel}:{sender}"):
        return await _turn(channel, sender, text, external_id, client_ip)


async def _turn(channel: str, sender: str, text: str, external_id: str | None, client_ip: str | None) -> Turn:
    """Store the message, then answer it unless an operator holds the conversation or it was answered before."""
    try:
        inbound = await turn_threads.run(_store_inbound, channel, sender, text, external_id)
        earlier = []
        if inbound.duplicate and not inbound.held:
            earlier = await turn_threads.run(_replies_to, channel, sender, inbound.message_id)
    except SQLAlchemyError as error:
        raise StorageUnavailable(type(error).__name__) from error
    # The length, never the text: a message may carry names, addresses and numbers.
    log.info("%s message from %s stored (%d chars%s)", channel, sender, len(text),
             ", duplicate" if inbound.duplicate else ", operator holds it" if inbound.held else "")
    if inbound.held:
        if not inbound.duplicate:  # the operator's console shows it live
            await console_hub.publish({"type": "conversation", "channel": channel, "sender": sender})
        return Turn([], inbound.message_id)
    if earlier:
        return Turn([], inbound.message_id, earlier)
    if inbound.duplicate:
        # Stored by the first delivery, which then failed (say, the database's reply to COMMIT was lost).
        log.warning("%s message from %s delivered again and never answered: answering it now", channel, sender)
    try:
        replies = [_addressed(sender, message) for message in await rasa_client.send(
            conversations.rasa_sender_id(channel, sender), rasa_text(text),
            {"client_ip": client_ip} if client_ip else None)]
        author = "bot"
        if not replies:
            # Rasa answers nothing when an action failed (the action server down, a crash): never silence.
            log.warning("Rasa gave no reply to a %s message", channel)
            replies, author = [{"recipient_id": sender, "text": _apology_text()}], "system"
    except rasa_client.RasaUnavailable as error:
        log.warning("Rasa unavailable for a %s message: %s", channel, error)
        replies, author = [{"recipient_id": sender, "text": _apology_text()}], "system"
    try:
        await turn_threads.run(_store_outbound, channel, sender, author, replies)
    except SQLAlchemyError as error:
        # The citizen's message is stored already; the answer still goes out rather than being lost twice.
        log.error("bot replies not stored: %s", type(error).__name__)
    return Turn(replies, inbound.message_id)
