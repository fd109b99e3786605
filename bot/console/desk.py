"""Operator actions end to end: the desk's state change, what the citizen is told (stored first), and the live pushes."""
from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool

from actions.ratings import rating_buttons
from bot import delivery
from bot.auth import Staff
from bot.console import citizen, hub
from bot.settings import get_settings
from knowledge_base import conversations, operator_desk
from knowledge_base.db import transaction
from knowledge_base.models import Conversation
from knowledge_base.operator_desk import DeskError, Held

log = logging.getLogger(__name__)

CLIENT_ID_MAX = 60  # stored as "op:<id>" in messages.external_id (64)


def joined_text(name: str) -> str:
    return f"Tổng đài viên {name} đã tham gia cuộc trò chuyện."


def transferred_text(name: str) -> str:
    return f"Cuộc trò chuyện đã được chuyển cho tổng đài viên {name}."


def closed_text() -> str:
    return ("Tổng đài viên đã kết thúc cuộc trò chuyện; trợ lý ảo tiếp tục hỗ trợ anh/chị. "
            "Anh/chị đánh giá thế nào về sự hỗ trợ vừa rồi?")


def requeued_text() -> str:
    return ("Tổng đài viên tạm thời mất kết nối. Anh/chị vui lòng chờ trong giây lát, "
            "cuộc trò chuyện sẽ được tổng đài viên khác tiếp nhận.")


def _say(session, held: Held, author: str, text: str, payload: dict | None = None) -> dict:
    conversation = session.get(Conversation, held.conversation_id)
    message = conversations.record_message(session, conversation, "out", author, text, payload=payload)
    return delivery.outbound(message)


def _take(handoff_id: int, staff: Staff) -> tuple[Held, dict]:
    with transaction() as session:
        held = operator_desk.take(session, handoff_id, staff.id)
        return held, _say(session, held, "system", joined_text(held.operator_name))


def _transfer(handoff_id: int, staff: Staff, to_staff_id: int) -> tuple[Held, dict]:
    with transaction() as session:
        held = operator_desk.transfer(session, handoff_id, staff.id, to_staff_id, any_holder=staff.is_admin)
        return held, _say(session, held, "system", transferred_text(held.operator_name))


def _close(handoff_id: int, staff: Staff, outcome: str) -> tuple[Held, dict]:
    with transaction() as session:
        held = operator_desk.close(session, handoff_id, staff.id, outcome, any_holder=staff.is_admin)
        # The bot asks, with the rating form's own buttons: a press goes to Rasa as /rate_service.
        return held, _say(session, held, "bot", closed_text(), {"buttons": rating_buttons()})


async def _after(app: Starlette, held: Held, message: dict) -> None:
    await citizen.send(app, held.channel, held.sender, [message])
    await hub.publish({"type": "queue"})
    await hub.publish({"type": "conversation", "channel": held.channel, "sender": held.sender})


async def take(app: Starlette, handoff_id: int, staff: Staff) -> Held:
    """Take a waiting conversation (DeskError for the one who came second); the citizen is told who joined."""
    held, message = await run_in_threadpool(_take, handoff_id, staff)
    log.info("handoff %d taken by staff %d", handoff_id, staff.id)
    await _after(app, held, message)
    return held


async def transfer(app: Starlette, handoff_id: int, staff: Staff, to_staff_id: int) -> Held:
    held, message = await run_in_threadpool(_transfer, handoff_id, staff, to_staff_id)
    log.info("handoff %d transferred by staff %d to %d", handoff_id, staff.id, to_staff_id)
    await _after(app, held, message)
    return held


async def close(app: Starlette, handoff_id: int, staff: Staff, outcome: str) -> Held:
    """Close with an outcome: the bot answers again and asks the citizen for a rating."""
    held, message = await run_in_threadpool(_close, handoff_id, staff, outcome)
    log.info("handoff %d closed by staff %d (%s)", handoff_id, staff.id, outcome)
    await _after(app, held, message)
    return held


def _check_reply(text: object, client_id: object) -> tuple[str, str | None]:
    if not isinstance(text, str) or not text.strip():
        raise DeskError("Tin nhắn trống.", 400)
    text, limit = text.strip(), get_settings().max_message_chars
    if len(text) > limit:
        raise DeskError(f"Tin nhắn quá dài (tối đa {limit} ký tự).", 400)
    if client_id is not None and (not isinstance(client_id, str) or not 0 < len(client_id) <= CLIENT_ID_MAX):
        raise DeskError(f"Mã tin nhắn (client_id) phải có từ 1 đến {CLIENT_ID_MAX} ký tự.", 400)
    return text, client_id


def _store_reply(conversation_id: int, staff: Staff, text: str, client_id: str | None) -> tuple[Conversation, dict | None]:
    with transaction() as session:
        conversation = session.get(Conversation, conversation_id, with_for_update=True)
        if conversation is None:
            raise DeskError("Không tìm thấy cuộc trò chuyện.", 404)
        if conversation.state != "operator" or conversation.assigned_to != staff.id:
            raise DeskError("Anh/chị chưa nhận cuộc trò chuyện này (hoặc nó đã được chuyển, đã kết thúc).", 403)
        message = conversations.record_message(session, conversation, "out", "operator", text,
                                               payload={"staff_id": staff.id},
                                               external_id=f"op:{client_id}" if client_id else None)
        return conversation, delivery.outbound(message) if message is not None else None


async def reply(app: Starlette, conversation_id: int, staff: Staff, text: object, client_id: object = None) -> dict | None:
    """Store the operator's message, then deliver it; None when ``client_id`` was sent before (a resend)."""
    text, client_id = _check_reply(text, client_id)
    conversation, message = await run_in_threadpool(_store_reply, conversation_id, staff, text, client_id)
    if message is None:
        return None
    await citizen.send(app, conversation.channel, conversation.sender_id, [message])
    await hub.publish({"type": "conversation", "channel": conversation.channel, "sender": conversation.sender_id})
    return message


def _holding(conversation_id: int, staff: Staff) -> Conversation | None:
    with transaction() as session:
        conversation = session.get(Conversation, conversation_id)
        if conversation is None or conversation.state != "operator" or conversation.assigned_to != staff.id:
            return None
        return conversation


async def typing(app: Starlette, conversation_id: int, staff: Staff, on: bool) -> None:
    conversation = await run_in_threadpool(_holding, conversation_id, staff)
    if conversation is not None:
        await citizen.typing(app, conversation.channel, conversation.sender_id, on)


def _requeue() -> list[tuple[Held, dict]]:
    with transaction() as session:
        return [(held, _say(session, held, "system", requeued_text())) for held in operator_desk.requeue_abandoned(session)]


async def requeue_abandoned(app: Starlette) -> int:
    """Abandoned holds back to the queue, their citizens told; how many."""
    requeued = await run_in_threadpool(_requeue)
    for held, message in requeued:
        log.info("handoff %d back in the queue: staff %d's console gone past the grace period", held.handoff_id, held.operator_id)
        await citizen.send(app, held.channel, held.sender, [message])
        await hub.publish({"type": "conversation", "channel": held.channel, "sender": held.sender})
    if requeued:
        await hub.publish({"type": "queue"})
    return len(requeued)
