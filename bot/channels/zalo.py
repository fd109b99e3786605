"""Zalo Official Account channel (OA API v3.0, OAuth v4): ``POST /webhooks/zalo`` in, consultation messages out.

Every event is signed by Zalo and checked here (403 otherwise), and goes through the conversation router with
``external_id`` = Zalo's message id, so a retried event is answered once. A reply Zalo refuses (outside the
consultation window, a user who left) is recorded in the conversation as a system message operators see."""
from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager, suppress
from typing import AsyncIterator

import httpx
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot import router
from bot.channels import zalo_api, zalo_events, zalo_messages, zalo_tokens
from bot.channels.chat_text import GREETING, non_text_reply
from bot.turn_locks import TurnLocks
from bot.console import hub
from bot.settings import Settings, get_settings
from knowledge_base import conversations
from knowledge_base.db import transaction

log = logging.getLogger(__name__)

CHANNEL = "zalo"
TOKEN_CHECK_SECONDS = 60.0  # how often the idle channel looks whether the access token is due for renewal
NOT_TEXT_EVENTS = ("user_send_image", "user_send_file", "user_send_sticker", "user_send_gif", "user_send_audio",
                   "user_send_video", "user_send_location", "user_send_link", "user_send_business_card")

_lock = TurnLocks()  # one turn at a time per citizen
_live: zalo_api.Connection | None = None  # the running channel of this process, for deliver()
_turns: set[asyncio.Task] = set()  # turns still running after the webhook's 200


def configured(settings: Settings) -> bool:
    return bool(settings.zalo_app_id and settings.zalo_oa_secret and (settings.zalo_access_token or settings.zalo_refresh_token))


def undelivered_text(failure: zalo_api.SendFailed, text: str) -> str:
    """The note operators read in the conversation when Zalo refused a message."""
    preview = text if len(text) <= 200 else text[:200] + "…"
    if failure.outside_window:
        why = ("ngoài thời hạn tư vấn (công dân chưa nhắn cho Official Account trong thời gian Zalo cho phép trả lời); "
               "tin sẽ gửi được sau khi công dân nhắn lại, hoặc liên hệ công dân qua kênh khác")
    else:
        why = f"Zalo từ chối (mã lỗi {failure.code}: {failure.reason})" if failure.code is not None else failure.reason
    return f"Không gửi được tin nhắn qua Zalo: {why}. Nội dung chưa gửi: “{preview}”"


# --- sending ------------------------------------------------------------------------------------

def _store_undelivered(user_id: str, note: str, failure: zalo_api.SendFailed) -> None:
    with transaction() as session:
        conversation = conversations.get_or_create(session, CHANNEL, user_id)
        conversations.record_message(session, conversation, "out", "system", note,
                                     payload={"undelivered": {"channel": CHANNEL, "code": failure.code,
                                                              "outside_window": failure.outside_window}})


async def _record_undelivered(user_id: str, text: str, failure: zalo_api.SendFailed) -> None:
    if failure.outside_window:
        log.error("Zalo %s: không gửi được: ngoài thời hạn tư vấn (mã lỗi %s)", user_id, failure.code)
    else:
        log.error("Zalo %s: không gửi được (mã lỗi %s: %s)", user_id, failure.code, failure.reason)
    try:
        await run_in_threadpool(_store_undelivered, user_id, undelivered_text(failure, text), failure)
    except SQLAlchemyError as error:
        log.error("Zalo: the undelivered note was not stored: %s", type(error).__name__)
        return
    await hub.publish({"type": "conversation", "channel": CHANNEL, "sender": user_id})


async def send_replies(connection: zalo_api.Connection, user_id: str, replies: list[dict]) -> int:
    """Rasa-format replies as Zalo messages; how many went out whole. A refused one is recorded, not retried."""
    delivered = 0
    for reply in replies:
        pieces = zalo_messages.messages(reply)
        try:
            for piece in pieces:
                await zalo_api.send(connection, user_id, piece)
            delivered += bool(pieces)
        except zalo_api.SendFailed as failure:
            await _record_undelivered(user_id, "\n".join(piece["text"] for piece in pieces), failure)
    return delivered


async def deliver(user_id: str, message: dict) -> int:
    """Send one stored message ({"text", "buttons"?}) to Zalo user ``user_id``; 1 when Zalo took it.

    For writers outside the bot (operator console, notifications): store the message first, then call this on the
    gateway's loop. A refusal (e.g. outside the consultation window) is logged and noted in the conversation."""
    if _live is None:
        log.error("Zalo %s: không gửi được: kênh Zalo chưa chạy", user_id)
        return 0
    async with _lock(user_id):
        return await send_replies(_live, user_id, [message])


# --- events -------------------------------------------------------------------------------------

def _store_event(user_id: str, external_id: str, direction: str, author: str, text: str,
                 reply: str | None = None) -> bool:
    """Store an event the gateway handles itself (and its answer); False when it was handled before."""
    with transaction() as session:
        conversation = conversations.get_or_create(session, CHANNEL, user_id)
        if conversations.record_message(session, conversation, direction, author, text, external_id=external_id) is None:
            return False
        if reply is not None:
            conversations.record_message(session, conversation, "out", "system", reply)
    return True


async def _route(connection: zalo_api.Connection, event: zalo_events.Event, text: str) -> None:
    try:
        replies = await router.handle_message(CHANNEL, event.user_id, text, external_id=event.event_id)
    except router.StorageUnavailable:
        replies = [{"text": router.storage_unavailable_text()}]
    await send_replies(connection, event.user_id, replies)


async def handle(connection: zalo_api.Connection, event: zalo_events.Event) -> None:
    """One verified event: text (typed, or a pressed button's payload) and follow go to the bot; other
    messages get a note that only text is read; unfollow is recorded; the rest (delivery receipts …) is ignored."""
    async with _lock(event.user_id):
        if event.name == "user_send_text" and event.text is not None:
            await _route(connection, event, event.text)
        elif event.name == "follow":
            await _route(connection, event, GREETING)
        elif event.name == "unfollow":
            await run_in_threadpool(_store_event, event.user_id, event.event_id, "in", "system",
                                    "Công dân đã bỏ quan tâm Official Account.")
        elif event.name in NOT_TEXT_EVENTS:
            reply = non_text_reply()
            try:
                fresh = await run_in_threadpool(_store_event, event.user_id, event.event_id, "in", "citizen",
                                                "(tin nhắn không phải chữ)", reply)
            except SQLAlchemyError as error:
                log.error("Zalo event not stored: %s", type(error).__name__)
                fresh = True
            if fresh:
                await send_replies(connection, event.user_id, [{"text": reply}])


async def _turn(connection: zalo_api.Connection, event: zalo_events.Event) -> None:
    try:
        await handle(connection, event)
    except Exception as error:  # noqa: BLE001 - a background turn has nobody else to report to
        log.error("Zalo event %s failed: %r", event.name, error, exc_info=error)


async def webhook(request: Request) -> Response:
    """Zalo's webhook: 403 for a forged or stale event; 200 within Zalo's 2 s, the turn going on if it takes longer."""
    connection, settings = _live, get_settings()
    if connection is None:
        return JSONResponse({"error": "Kênh Zalo chưa được cấu hình."}, status_code=404)
    body = await request.body()
    if len(body) > settings.max_body_bytes:
        return JSONResponse({"error": "Sự kiện Zalo quá lớn."}, status_code=413)
    try:
        event = zalo_events.verified(body, request.headers.get(zalo_events.SIGNATURE_HEADER, ""),
                                     settings.zalo_app_id or "", settings.zalo_oa_secret or "", settings.zalo_event_max_age)
    except zalo_events.Refused as refusal:
        log.warning("Zalo webhook: event refused (%s)", refusal)
        return JSONResponse({"error": f"Sự kiện Zalo bị từ chối: {refusal}."}, status_code=403)
    except ValueError:
        return JSONResponse({"error": "Sự kiện Zalo không hợp lệ."}, status_code=400)
    task = asyncio.create_task(_turn(connection, event))
    _turns.add(task)
    task.add_done_callback(_turns.discard)
    await asyncio.wait({task}, timeout=settings.zalo_ack_seconds)
    return JSONResponse({"ok": True})


# --- lifecycle ----------------------------------------------------------------------------------

async def _keep_token_fresh(connection: zalo_api.Connection) -> None:
    """Renew the access token ahead of expiry even when nobody writes, so the refresh token chain stays alive."""
    while True:
        await asyncio.sleep(TOKEN_CHECK_SECONDS)
        try:
            await zalo_api.fresh_token(connection)
        except Exception as error:  # noqa: BLE001 - e.g. var/ not writable: keep trying, keep serving
            log.error("Zalo: token check failed: %r", error)


@asynccontextmanager
async def running(app: Starlette) -> AsyncIterator[None]:
    """The Zalo channel for the gateway's lifetime (off unless app id, OA secret and a token are set)."""
    global _live
    settings = get_settings()
    app.state.zalo = None
    if not configured(settings):
        yield
        return
    http = httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=3.0))
    connection = zalo_api.Connection(http=http, settings=settings, tokens=zalo_tokens.load(settings))
    app.state.zalo = _live = connection
    keeper = asyncio.create_task(_keep_token_fresh(connection))
    log.info("Zalo: Official Account channel on (webhook /webhooks/zalo)")
    try:
        yield
    finally:
        _live = None
        keeper.cancel()
        with suppress(asyncio.CancelledError):
            await keeper
        if _turns:  # turns answered with 200 already: let them finish their replies
            await asyncio.wait(set(_turns), timeout=settings.shutdown_timeout)
        await http.aclose()


routes = [Route("/webhooks/zalo", webhook, methods=["POST"])]
