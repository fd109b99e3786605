"""Telegram channel (python-telegram-bot): long polling, or ``POST /webhooks/telegram`` when a webhook URL is set.

Every update goes through the conversation router with ``external_id="update:<update_id>"``, so an update
Telegram delivers twice (a restart before the offset was confirmed, a webhook retry) is answered once."""
from __future__ import annotations

import asyncio
import hmac
import json
import logging
from contextlib import asynccontextmanager, suppress
from typing import AsyncIterator

from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from telegram import Bot, Update
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import Application, ApplicationBuilder, CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters

from knowledge_base.office_time import office_hours_text
from bot import router
from bot.channels import telegram_buttons
from bot.channels.chat_text import GREETING, chunks, non_text_reply
from bot.channels.telegram_retry import with_retries
from bot.turn_locks import TurnLocks
from bot.settings import Settings, get_settings
from knowledge_base import conversations
from knowledge_base.db import transaction
from knowledge_base.dossier_notifications import UNSUBSCRIBE_PAYLOAD
from knowledge_base.tracking_code import EXAMPLE

log = logging.getLogger(__name__)

CHANNEL = "telegram"
ALLOWED_UPDATES = ["message", "callback_query"]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
TEXT_MAX = 4096  # characters in one Telegram message

_lock = TurnLocks()  # one turn at a time per chat
_live: Application | None = None  # the running channel of this process, for deliver()


# --- what the bot says on its own -------------------------------------------------------------

def help_text() -> str:
    settings = get_settings()
    return (f"Em là Trợ lý ảo của {settings.center_name}. Anh/chị có thể nhắn câu hỏi bằng tiếng Việt, ví dụ "
            f"“làm hộ chiếu cần giấy tờ gì?”, “lệ phí cấp lại căn cước”, hoặc bấm các nút gợi ý.\n\n"
            f"/tracuu <mã hồ sơ> — tra cứu tình trạng hồ sơ (ví dụ: /tracuu {EXAMPLE})\n"
            f"/hotline — số đường dây nóng và giờ làm việc của tổng đài\n"
            f"/huy — ngừng nhận thông báo về hồ sơ đã đăng ký theo dõi\n"
            f"/help — xem lại hướng dẫn này\n\n"
            f"Anh/chị cũng có thể nhắn “gặp tổng đài viên” để được hỗ trợ trực tiếp.")


def hotline_text() -> str:
    settings = get_settings()
    return (f"Đường dây nóng của {settings.center_name}: {settings.hotline}.\n"
            f"Tổng đài viên làm việc {office_hours_text()}.")


def tracuu_usage_text() -> str:
    return (f"Anh/chị vui lòng gửi kèm mã hồ sơ in trên giấy tiếp nhận, ví dụ: /tracuu {EXAMPLE}")


def stale_button_reply() -> str:
    return "Lựa chọn này đã cũ. Anh/chị vui lòng nhập lại câu hỏi giúp em."


# --- sending ------------------------------------------------------------------------------------

async def send_replies(bot: Bot, chat: str, replies: list[dict]) -> int:
    """Rasa-format replies as Telegram messages, buttons as an inline keyboard under the reply's last piece.

    How many replies were delivered whole."""
    delivered = 0
    for reply in replies:
        markup = telegram_buttons.keyboard(reply.get("buttons") or [])
        text = str(reply.get("text") or reply.get("image") or ("Mời anh/chị chọn:" if markup else ""))
        pieces = chunks(text, TEXT_MAX)
        try:
            for index, piece in enumerate(pieces):
                last = index == len(pieces) - 1
                # Plain text (no parse_mode): catalogue text must never be read as markup.
                await with_retries(lambda: bot.send_message(chat, piece, reply_markup=markup if last else None), "sendMessage")
            delivered += bool(pieces)
        except TelegramError as error:
            # The reply is stored already; one that cannot go out must not hold back the next.
            log.error("Telegram reply to a chat not delivered: %s", error)
    return delivered


async def _best_effort(call, what: str) -> None:
    try:
        await with_retries(call, what)
    except TelegramError as error:  # e.g. a query too old to answer: nothing the citizen can act on
        log.info("Telegram %s skipped: %s", what, error)


# --- handlers -----------------------------------------------------------------------------------

def _chat(update: Update) -> str:
    return str(update.effective_chat.id)


async def _route(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> None:
    """``text`` through the conversation router (stored, deduplicated on the update id), the replies sent back."""
    chat = _chat(update)
    async with _lock(chat):
        try:
            replies = await router.handle_message(CHANNEL, chat, text, external_id=f"update:{update.update_id}")
        except router.StorageUnavailable:
            replies = [{"text": router.storage_unavailable_text()}]
        await send_replies(context.bot, chat, replies)


def _store_local(chat: str, external_id: str, text: str, reply: str) -> bool:
    """Store a command the gateway answers itself and its answer; False when the update was handled before."""
    with transaction() as session:
        conversation = conversations.get_or_create(session, CHANNEL, chat)
        if conversations.record_message(session, conversation, "in", "citizen", text, external_id=external_id) is None:
            return False
        conversations.record_message(session, conversation, "out", "system", reply)
    return True


async def _answer_locally(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str, reply: str) -> None:
    chat = _chat(update)
    async with _lock(chat):
        try:
            fresh = await run_in_threadpool(_store_local, chat, f"update:{update.update_id}", text, reply)
        except SQLAlchemyError as error:
            # Fixed information costs nothing to repeat: answer even when it cannot be recorded.
            log.error("Telegram command not stored: %s", type(error).__name__)
            fresh = True
        if fresh:
            await send_replies(context.bot, chat, [{"text": reply}])


async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _route(update, context, GREETING)


async def on_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _answer_locally(update, context, update.effective_message.text or "/help", help_text())


async def on_hotline(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _answer_locally(update, context, update.effective_message.text or "/hotline", hotline_text())


async def on_tracuu(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    code = " ".join(context.args or []).strip()
    if code:
        await _route(update, context, f"tra cứu hồ sơ {code}")
    else:
        await _answer_locally(update, context, update.effective_message.text or "/tracuu", tracuu_usage_text())


async def on_huy(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _route(update, context, UNSUBSCRIBE_PAYLOAD)  # the unsubscribe intent itself: no guessing


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _route(update, context, update.effective_message.text)


async def on_non_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _answer_locally(update, context, "(tin nhắn không phải chữ)", non_text_reply())


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A pressed inline button: answer the query, take the keyboard away, send its payload as the next message."""
    query = update.callback_query
    await _best_effort(query.answer, "answerCallbackQuery")
    if query.message is not None:
        await _best_effort(lambda: query.edit_message_reply_markup(reply_markup=None), "editMessageReplyMarkup")
    payload = await run_in_threadpool(telegram_buttons.payload_for, _chat(update), query.data or "")
    if payload is None:
        await _answer_locally(update, context, query.data or "", stale_button_reply())
    else:
        await _route(update, context, payload)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("Telegram update %s failed: %r", update_id, context.error, exc_info=context.error)


def build_application(settings: Settings) -> Application:
    """The PTB application for the configured bot: our handlers, no updater in webhook mode."""
    builder = (ApplicationBuilder().token(settings.telegram_bot_token)
               .base_url(f"{settings.telegram_api_url}/bot").base_file_url(f"{settings.telegram_api_url}/file/bot")
               .concurrent_updates(True))  # chats in parallel; one chat stays in order (_lock)
    if settings.telegram_webhook_url:
        builder = builder.updater(None)
    application = builder.build()
    application.add_handlers([
        CommandHandler("start", on_start),
        CommandHandler("help", on_help),
        CommandHandler("hotline", on_hotline),
        CommandHandler("tracuu", on_tracuu),
        CommandHandler("huy", on_huy),
        MessageHandler(filters.TEXT & ~filters.COMMAND, on_text),
        MessageHandler(filters.COMMAND, on_help),  # an unknown command: show what the bot understands
        MessageHandler(filters.ChatType.PRIVATE & ~filters.TEXT & ~filters.StatusUpdate.ALL, on_non_text),
        CallbackQueryHandler(on_button),
    ])
    application.add_error_handler(on_error)
    return application


# --- lifecycle ----------------------------------------------------------------------------------

async def _start(application: Application, settings: Settings) -> None:
    """Connect (retrying while Telegram is unreachable), then poll or register the webhook."""
    delay = 1.0
    while True:
        try:
            await application.initialize()
            break
        except InvalidToken:
            log.error("Telegram refused the bot token: the Telegram channel stays off")
            return
        except NetworkError as error:
            log.warning("Telegram unreachable (%s); retrying in %.0f s", error, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 60.0)
    await application.start()
    if settings.telegram_webhook_url:
        await with_retries(lambda: application.bot.set_webhook(
            settings.telegram_webhook_url, secret_token=settings.telegram_webhook_secret,
            allowed_updates=ALLOWED_UPDATES), "setWebhook")
        log.info("Telegram: webhook mode")
    else:
        await application.updater.start_polling(timeout=settings.telegram_poll_timeout, allowed_updates=ALLOWED_UPDATES,
                                                bootstrap_retries=settings.telegram_send_attempts)
        log.info("Telegram: long polling")


async def _stop(application: Application) -> None:
    # The webhook stays registered: Telegram keeps the updates for the next start.
    if application.updater is not None and application.updater.running:
        await application.updater.stop()
    if application.running:
        await application.stop()
    await application.shutdown()


@asynccontextmanager
async def running(app: Starlette) -> AsyncIterator[None]:
    """The Telegram channel for the gateway's lifetime (off without a bot token); it never stops the gateway starting."""
    settings = get_settings()
    app.state.telegram = None
    if not settings.telegram_bot_token:
        yield
        return
    global _live
    application = build_application(settings)
    app.state.telegram = _live = application
    starting = asyncio.create_task(_start(application, settings))
    starting.add_done_callback(_report_failed_start)
    try:
        yield
    finally:
        starting.cancel()
        with suppress(asyncio.CancelledError, Exception):  # a failed start was reported when it failed
            await starting
        _live = None
        await _stop(application)


async def deliver(chat: str, message: dict) -> int:
    """Send one stored message ({"text", "buttons"?}, e.g. an operator's) to Telegram chat ``chat``; 1 when sent.

    For writers outside the bot (the operator console): store the message first, then call this on the gateway's loop."""
    if _live is None or not _live.running:
        return 0
    async with _lock(chat):
        return await send_replies(_live.bot, chat, [message])


def _report_failed_start(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("Telegram channel did not start: %r", task.exception(), exc_info=task.exception())


async def webhook(request: Request) -> Response:
    """Telegram's webhook: 403 without the right secret header; the update is handled before the 200."""
    application: Application | None = getattr(request.app.state, "telegram", None)
    settings = get_settings()
    if application is None or not settings.telegram_webhook_url:
        return JSONResponse({"error": "Kênh Telegram không bật chế độ webhook."}, status_code=404)
    given = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(given.encode(), settings.telegram_webhook_secret.encode()):
        return JSONResponse({"error": "Sai mã bí mật của webhook Telegram."}, status_code=403)
    if not application.running:
        return JSONResponse({"error": "Kênh Telegram đang khởi động, vui lòng gửi lại sau."}, status_code=503)
    try:
        update = Update.de_json(json.loads(await request.body()), application.bot)
    except (ValueError, TypeError, KeyError, AttributeError):
        return JSONResponse({"error": "Bản cập nhật Telegram không hợp lệ."}, status_code=400)
    await application.process_update(update)
    return Response(status_code=200)


routes = [Route("/webhooks/telegram", webhook, methods=["POST"])]
