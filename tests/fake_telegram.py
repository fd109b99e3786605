"""A fake Telegram Bot API on a loopback port: enough of the real one for python-telegram-bot, recording every call."""
from __future__ import annotations

import asyncio
import json
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from loopback_server import serving
from stack import free_port

TOKEN = "123456:TEST-token_for-the-fake"
BOT_USER = {"id": 123456, "is_bot": True, "first_name": "Trợ lý HCC", "username": "hcc_test_bot",
            "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}
PLAIN_FIELDS = {"text", "url", "secret_token", "callback_query_id", "data"}  # sent as strings, not JSON


@dataclass
class Call:
    method: str
    params: dict
    at: float
    answered: int  # the HTTP status the fake gave
    result: object = None  # what it returned


@dataclass
class FakeTelegram:
    """Bot API methods under ``/bot<token>/<method>``; tests inject updates and read ``calls``."""

    port: int
    calls: list[Call] = field(default_factory=list)
    pending: list[dict] = field(default_factory=list)  # updates not yet confirmed by a getUpdates offset
    throttle_sends: int = 0  # answer this many next sendMessage calls with 429 retry_after=1
    _ids: dict = field(default_factory=lambda: {"update": 1000, "message": 1})
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.pending.clear()
            self.throttle_sends = 0

    # --- injecting updates -------------------------------------------------------------------

    def _next(self, kind: str) -> int:
        with self._lock:
            self._ids[kind] += 1
            return self._ids[kind]

    def message_update(self, chat_id: int, text: str) -> dict:
        """A citizen's text message as Telegram delivers it (a leading /command gets its entity)."""
        message = {"message_id": self._next("message"), "date": int(time.time()), "text": text,
                   "chat": {"id": chat_id, "type": "private", "first_name": "Công dân"},
                   "from": {"id": chat_id, "is_bot": False, "first_name": "Công dân", "language_code": "vi"}}
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        return {"update_id": self._next("update"), "message": message}

    def button_update(self, chat_id: int, sent: dict, data: str) -> dict:
        """The citizen pressing a button with ``data`` under the bot's message ``sent`` (a sendMessage result)."""
        return {"update_id": self._next("update"), "callback_query": {
            "id": f"cq-{self._ids['update']}", "chat_instance": f"ci-{chat_id}", "data": data, "message": sent,
            "from": {"id": chat_id, "is_bot": False, "first_name": "Công dân"}}}

    def push(self, update: dict) -> dict:
        """Make ``update`` the next one getUpdates returns (again, for one already delivered: a redelivery)."""
        with self._lock:
            self.pending.append(update)
        return update

    # --- reading calls ------------------------------------------------------------------------

    def calls_to(self, method: str, ok_only: bool = True) -> list[dict]:
        with self._lock:
            return [c.params for c in self.calls if c.method == method and (c.answered == 200 or not ok_only)]

    def delivered(self) -> list[int]:
        """The update ids getUpdates handed out, in order (a redelivered one twice)."""
        with self._lock:
            return [u["update_id"] for c in self.calls if c.method == "getUpdates" for u in c.result or []]

    def wait_for(self, method: str, count: int = 1, timeout: float = 10.0) -> list[dict]:
        """The successful calls to ``method`` once there are ``count`` of them (AssertionError after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.calls_to(method)
            if len(found) >= count:
                return found
            time.sleep(0.02)
        raise AssertionError(f"{count} × {method} expected within {timeout} s, got {self.calls_to(method)}")

    # --- the API ------------------------------------------------------------------------------

    async def endpoint(self, request: Request) -> JSONResponse:
        if request.path_params["token"] != TOKEN:
            return self._answer(request.path_params["method"], {}, 401, error="Unauthorized")
        method = request.path_params["method"]
        body = (await request.body()).decode()
        params = {key: value if key in PLAIN_FIELDS else _json_or_text(value) for key, value in parse_qsl(body)}
        handler = getattr(self, f"_{method}", None)
        if handler is None:
            return self._answer(method, params, 404, error="Not Found")
        return await handler(params, request)

    def _answer(self, method: str, params: dict, status: int, result=None, error: str = "",
                extra: dict | None = None) -> JSONResponse:
        with self._lock:
            self.calls.append(Call(method, params, time.monotonic(), status, result))
        if status == 200:
            return JSONResponse({"ok": True, "result": result})
        return JSONResponse({"ok": False, "error_code": status, "description": error, **(extra or {})}, status_code=status)

    async def _getMe(self, params: dict, request: Request) -> JSONResponse:
        return self._answer("getMe", params, 200, BOT_USER)

    async def _getUpdates(self, params: dict, request: Request) -> JSONResponse:
        offset = int(params.get("offset") or 0)
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), 5.0)
        with self._lock:
            if offset:  # an offset confirms, on arrival, every update before it; the rest stay until confirmed
                self.pending[:] = [u for u in self.pending if u["update_id"] >= offset]
        while True:
            with self._lock:
                ready = sorted(self.pending, key=lambda u: u["update_id"])
            if await request.is_disconnected():  # the client gave up (a stopped poller): it gets nothing
                return JSONResponse({"ok": False}, status_code=499)
            if ready or time.monotonic() >= deadline:
                return self._answer("getUpdates", params, 200, ready)
            await asyncio.sleep(0.02)

    async def _setWebhook(self, params: dict, request: Request) -> JSONResponse:
        return self._answer("setWebhook", params, 200, True)

    async def _deleteWebhook(self, params: dict, request: Request) -> JSONResponse:
        return self._answer("deleteWebhook", params, 200, True)

    async def _sendMessage(self, params: dict, request: Request) -> JSONResponse:
        with self._lock:
            throttled = self.throttle_sends > 0
            self.throttle_sends -= throttled
        if throttled:
            return self._answer("sendMessage", params, 429, error="Too Many Requests: retry after 1",
                                extra={"parameters": {"retry_after": 1}})
        chat_id = int(params["chat_id"])
        message = {"message_id": self._next("message"), "date": int(time.time()), "text": params["text"],
                   "chat": {"id": chat_id, "type": "private", "first_name": "Công dân"}, "from": BOT_USER}
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        return self._answer("sendMessage", {**params, "result": message}, 200, message)

    async def _answerCallbackQuery(self, params: dict, request: Request) -> JSONResponse:
        return self._answer("answerCallbackQuery", params, 200, True)

    async def _editMessageReplyMarkup(self, params: dict, request: Request) -> JSONResponse:
        return self._answer("editMessageReplyMarkup", params, 200, True)


def _json_or_text(value: str):
    try:
        return json.loads(value)
    except ValueError:
        return value


@contextmanager
def fake_telegram() -> Iterator[FakeTelegram]:
    fake = FakeTelegram(free_port())
    app = Starlette(routes=[Route("/bot{token}/{method}", fake.endpoint, methods=["GET", "POST"])])
    with serving(app, fake.port):
        yield fake
