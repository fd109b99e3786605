"""A fake Zalo API on a loopback port: the OA consultation message endpoint and the OAuth v4 token refresh,
recording every call. Tests sign webhook events with ``event``/``signed`` and read ``sent``."""
from __future__ import annotations

import itertools
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

from bot.channels.zalo_events import signature
from loopback_server import serving
from stack import free_port

APP_ID = "4291763606161179100"
APP_SECRET = "app-secret-for-the-fake"
OA_SECRET = "oa-secret-for-the-fake"
OA_ID = "579745863508352884"
FIRST_ACCESS = "access-0"
FIRST_REFRESH = "refresh-0"


@dataclass
class Call:
    path: str
    params: dict
    answered: int  # Zalo's error number (0: success)
    at: float


@dataclass
class FakeZalo:
    port: int
    calls: list[Call] = field(default_factory=list)
    access_token: str = FIRST_ACCESS  # the one valid access token
    refresh_token: str = FIRST_REFRESH  # the one valid refresh token (single use, as Zalo's)
    expire_once: bool = False  # the next send says the access token expired (-216), as when 25 h have passed
    throttle_sends: int = 0  # answer this many next sends with the rate-limit error (-32)
    outside_window: set[str] = field(default_factory=set)  # users Zalo refuses: no interaction within the window
    _serial: itertools.count = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.access_token, self.refresh_token = FIRST_ACCESS, FIRST_REFRESH
            self.expire_once, self.throttle_sends = False, 0
            self.outside_window.clear()

    # --- webhook events -----------------------------------------------------------------------

    def event(self, name: str, user_id: str, text: str | None = None, at_ms: int | None = None) -> dict:
        """An event as Zalo posts it (timestamps in milliseconds, as strings)."""
        stamp = str(at_ms if at_ms is not None else int(time.time() * 1000))
        if name in ("follow", "unfollow"):
            return {"app_id": APP_ID, "oa_id": OA_ID, "follower": {"id": user_id}, "event_name": name,
                    "source": "oa_profile", "timestamp": stamp}
        message = {"msg_id": f"msg{next(self._serial):06d}"}
        if text is not None:
            message["text"] = text
        return {"app_id": APP_ID, "user_id_by_app": f"app-{user_id}", "sender": {"id": user_id},
                "recipient": {"id": OA_ID}, "event_name": name, "message": message, "timestamp": stamp}

    @staticmethod
    def signed(event: dict, secret: str = OA_SECRET) -> tuple[bytes, dict]:
        """The raw body and headers of ``event``, signed as Zalo signs it."""
        body = json.dumps(event, ensure_ascii=False).encode()
        return body, {"X-ZEvent-Signature": signature(str(event["app_id"]), body, str(event["timestamp"]), secret),
                      "Content-Type": "application/json"}

    # --- reading calls ------------------------------------------------------------------------

    def sends(self, ok_only: bool = True) -> list[dict]:
        with self._lock:
            return [c.params for c in self.calls if c.path == "send" and (c.answered == 0 or not ok_only)]

    def answers(self, path: str) -> list[int]:
        with self._lock:
            return [c.answered for c in self.calls if c.path == path]

    def wait_for_sends(self, count: int, timeout: float = 10.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.sends()
            if len(found) >= count:
                return found
            time.sleep(0.02)
        raise AssertionError(f"{count} sends expected within {timeout} s, got {self.sends(ok_only=False)}")

    # --- the API ------------------------------------------------------------------------------

    def _answer(self, path: str, params: dict, error: int, body: dict) -> JSONResponse:
        with self._lock:
            self.calls.append(Call(path, params, error, time.monotonic()))
        return JSONResponse(body)  # Zalo answers 200 with an error number in the body

    async def send(self, request: Request) -> JSONResponse:
        params = {**await request.json(), "access_token": request.headers.get("access_token")}
        user = params["recipient"]["user_id"]
        with self._lock:
            expired = self.expire_once
            self.expire_once = False
            if expired:
                self.access_token = "expired-" + self.access_token  # the old token no longer works
            throttled = self.throttle_sends > 0
            self.throttle_sends -= throttled
            valid = params["access_token"] == self.access_token
        if not valid:
            return self._answer("send", params, -216, {"error": -216, "message": "Access token is invalid"})
        if throttled:
            return self._answer("send", params, -32, {"error": -32, "message": "Your application reached limit call api"})
        if user in self.outside_window:
            return self._answer("send", params, -230, {"error": -230, "message": "User has not interacted with the OA in the past 7 days"})
        return self._answer("send", params, 0, {"error": 0, "message": "Success",
                                                "data": {"message_id": f"oa{next(self._serial)}", "user_id": user}})

    async def refresh(self, request: Request) -> JSONResponse:
        params = dict(parse_qsl((await request.body()).decode()))  # form-encoded, as Zalo's OAuth wants
        params["secret_key"] = request.headers.get("secret_key")
        with self._lock:
            good = (params.get("grant_type") == "refresh_token" and params.get("app_id") == APP_ID
                    and params.get("secret_key") == APP_SECRET and params.get("refresh_token") == self.refresh_token)
            if good:
                serial = next(self._serial)
                self.access_token, self.refresh_token = f"access-{serial}", f"refresh-{serial}"
                body = {"access_token": self.access_token, "refresh_token": self.refresh_token, "expires_in": "90000"}
        if not good:
            return self._answer("refresh", params, -14014, {"error": -14014, "error_name": "Invalid parameter",
                                                            "error_description": "Refresh token is invalid"})
        return self._answer("refresh", params, 0, body)


@contextmanager
def fake_zalo() -> Iterator[FakeZalo]:
    fake = FakeZalo(free_port())
    app = Starlette(routes=[Route("/v3.0/oa/message/cs", fake.send, methods=["POST"]),
                            Route("/v4/oa/access_token", fake.refresh, methods=["POST"])])
    with serving(app, fake.port):
        yield fake
