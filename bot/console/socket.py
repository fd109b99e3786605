"""The operators' WebSocket ``/ws/console``: the live queue, the watched conversation's messages, replies, typing.

Client → server: {"type": "open", "conversation_id", "after"} (watch one conversation; its messages after id
``after`` come first), {"type": "reply", "text", "client_id"}, {"type": "typing", "on"}, {"type": "ping"}.
Server → client: {"type": "hello", "staff"}, {"type": "queue", "items"}, {"type": "message", "conversation_id",
"id", "author", "text", "buttons", "at"}, {"type": "typing", "conversation_id", "on"} (the citizen),
{"type": "sent", "client_id", "id"}, {"type": "error", "text", "client_id"?}, {"type": "pong"}.
Take, transfer, notes and close are POSTs with the CSRF token (bot/console/api.py). Messages always come from
the database, so a console that reconnects with ``after`` misses none."""
from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from bot import auth, delivery
from bot.console import desk, hub, views
from bot.json_body import UNSTORABLE, storable
from bot.settings import get_settings
from knowledge_base.operator_desk import DeskError

log = logging.getLogger(__name__)

SESSION_RECHECK_SECONDS = 30  # a logout or a disabled account ends an open console within this
HISTORY = 200  # messages sent when a conversation is opened (and per catch-up page)

# Staff with at least one console open in this process: their held conversations are not abandoned.
present: Counter[int] = Counter()


@dataclass(eq=False)
class _Console:
    websocket: WebSocket
    staff: auth.Staff
    conversation_id: int | None = None
    channel_sender: tuple[str, str] | None = None
    last_id: int = 0
    checked_at: float = field(default_factory=time.monotonic)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def send(self, frame: dict) -> None:
        await self.websocket.send_text(json.dumps(frame, ensure_ascii=False))

    async def error(self, text: str, client_id: str | None = None) -> None:
        await self.send({"type": "error", "text": text, **({"client_id": client_id} if isinstance(client_id, str) else {})})

    async def send_queue(self) -> None:
        await self.send({"type": "queue", "items": await run_in_threadpool(views.queue_items)})

    async def catch_up(self) -> None:
        async with self.lock:
            while self.channel_sender is not None:
                conversation_id = self.conversation_id
                batch = await run_in_threadpool(delivery.stored_after, *self.channel_sender, self.last_id, HISTORY)
                if conversation_id != self.conversation_id:
                    break  # another conversation was opened meanwhile
                for message in batch:
                    await self.send({"type": "message", "conversation_id": conversation_id, **message})
                    self.last_id = message["id"]
                if len(batch) < HISTORY:
                    break

    async def on_event(self, event: dict) -> None:
        kind = event.get("type")
        if kind == "queue":
            await self.send_queue()
        elif kind == "conversation" and self.channel_sender == (event.get("channel"), event.get("sender")):
            await self.catch_up()
        elif kind == "typing" and event.get("author") == "citizen" and self.channel_sender == (event.get("channel"), event.get("sender")):
            await self.send({"type": "typing", "conversation_id": self.conversation_id, "on": bool(event.get("on"))})


async def endpoint(websocket: WebSocket) -> None:
    staff = await auth.staff_for_websocket(websocket, "operator")
    if staff is None:
        return  # the handshake was refused (not signed in, wrong role, foreign origin)
    await websocket.accept()
    console = _Console(websocket, staff)
    present[staff.id] += 1
    hub.subscribe(console.on_event)
    try:
        await run_in_threadpool(views.heartbeat, [staff.id])  # a reconnect within the grace period keeps its holds
        await console.send({"type": "hello", "staff": {"id": staff.id, "full_name": staff.full_name, "role": staff.role}})
        await console.send_queue()
        while True:
            event = await websocket.receive()
            if event["type"] == "websocket.disconnect":
                break
            if not await _still_signed_in(console):
                await websocket.close(code=4401)
                break
            try:
                await _frame(console, event.get("text"))
            except SQLAlchemyError as error:
                log.error("console frame not handled, database unavailable: %s", type(error).__name__)
                await console.error("Hệ thống tạm thời không truy cập được cơ sở dữ liệu; vui lòng thử lại sau ít phút.")
    except WebSocketDisconnect:
        pass
    finally:
        hub.unsubscribe(console.on_event)
        present[staff.id] -= 1
        if present[staff.id] <= 0:
            del present[staff.id]
            # The grace period counts from the drop, not from the last periodic heartbeat.
            try:
                await run_in_threadpool(views.heartbeat, [staff.id])
            except SQLAlchemyError as error:
                log.warning("last heartbeat of a closing console not stored: %s", type(error).__name__)


async def _still_signed_in(console: _Console) -> bool:
    if time.monotonic() - console.checked_at < SESSION_RECHECK_SECONDS:
        return True
    console.checked_at = time.monotonic()
    fresh = await auth.staff_from(console.websocket, fresh=True)
    return fresh is not None and fresh.id == console.staff.id and fresh.may("operator")


async def _frame(console: _Console, text: str | None) -> None:
    if text is None or len(text.encode()) > get_settings().max_body_bytes:
        await console.error("Khung tin phải là văn bản JSON và không quá lớn.")
        return
    try:
        frame = json.loads(text)
    except ValueError:
        await console.error("Khung tin không phải JSON hợp lệ.")
        return
    if isinstance(frame, dict) and not storable(frame):
        await console.error(UNSTORABLE)  # not even its client_id can be sent back
        return
    kind = frame.get("type") if isinstance(frame, dict) else None
    if kind == "open":
        await _open(console, frame)
    elif kind == "reply":
        await _reply(console, frame)
    elif kind == "typing":
        if console.conversation_id is not None:
            await desk.typing(console.websocket.app, console.conversation_id, console.staff, bool(frame.get("on")))
    elif kind == "ping":
        await console.send({"type": "pong"})
    else:
        await console.error('Khung tin phải có "type" là "open", "reply", "typing" hoặc "ping".')


async def _open(console: _Console, frame: dict) -> None:
    conversation_id, after = frame.get("conversation_id"), frame.get("after", 0)
    if isinstance(conversation_id, bool) or not isinstance(conversation_id, int):
        await console.error('Trường "conversation_id" phải là số nguyên.')
        return
    if isinstance(after, bool) or not isinstance(after, int) or after < 0:
        await console.error('Trường "after" phải là số nguyên không âm (mã tin nhắn cuối đã nhận).')
        return
    found = await run_in_threadpool(views.channel_sender, conversation_id, console.staff)
    if found is None:
        await console.error("Không tìm thấy cuộc trò chuyện, hoặc anh/chị không được xem cuộc trò chuyện này.")
        return
    async with console.lock:
        console.conversation_id, console.channel_sender, console.last_id = conversation_id, found, after
    await console.catch_up()


async def _reply(console: _Console, frame: dict) -> None:
    client_id = frame.get("client_id")
    if console.conversation_id is None:
        await console.error('Cần mở một cuộc trò chuyện ("open") trước khi trả lời.', client_id)
        return
    try:
        message = await desk.reply(console.websocket.app, console.conversation_id, console.staff, frame.get("text"), client_id)
    except DeskError as error:
        await console.error(str(error), client_id)
        return
    await console.send({"type": "sent", "client_id": client_id, "id": message["id"] if message else None})


routes = [WebSocketRoute("/ws/console", endpoint)]
