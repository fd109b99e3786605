"""Zalo's OA customer-service message API (``POST /v3.0/oa/message/cs``): the access token kept fresh,
rate limits retried with a bounded backoff, and Zalo's refusals turned into one exception."""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Awaitable, Callable

import httpx

from bot.channels import zalo_tokens
from bot.channels.zalo_tokens import RefreshFailed, Tokens
from bot.settings import Settings

log = logging.getLogger(__name__)

TOKEN_ERRORS = frozenset({-216, -220})  # access token invalid / expired or removed
WINDOW_ERRORS = frozenset({-230, -232})  # no interaction from the user within the consultation window
RATE_LIMIT_ERRORS = frozenset({-32})  # the app called the API too often
REFUSAL_PAUSE = 60.0  # seconds before a refused refresh token is tried again


class SendFailed(Exception):
    """Zalo did not take the message: ``code`` is Zalo's error number (None: unreachable, token not renewed)."""

    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason

    @property
    def outside_window(self) -> bool:
        return self.code in WINDOW_ERRORS


@dataclass
class Connection:
    """The running channel's HTTP client and token pair (one per gateway process)."""

    http: httpx.AsyncClient
    settings: Settings
    tokens: Tokens
    renewing: asyncio.Lock = field(default_factory=asyncio.Lock)
    refused: tuple[str, float] | None = None  # the refresh token Zalo last refused, and when
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep


async def renew(connection: Connection, stale: str) -> None:
    """Replace the access token ``stale`` (once, however many sends noticed it); RefreshFailed when Zalo refuses."""
    settings = connection.settings
    async with connection.renewing:
        if connection.tokens.access_token != stale:
            return  # another send renewed it meanwhile
        stored = zalo_tokens.load(settings)
        if stored.access_token != stale and not stored.expiring(settings.zalo_token_margin):
            connection.tokens = stored  # another process on this host renewed it
            return
        if connection.refused is not None and connection.refused[0] == stored.refresh_token \
                and time.monotonic() - connection.refused[1] < REFUSAL_PAUSE:
            raise RefreshFailed("Zalo vừa từ chối refresh token này")  # no hammering with every reply
        try:
            connection.tokens = await zalo_tokens.refresh(connection.http, settings, stored)
        except RefreshFailed:
            connection.refused = (stored.refresh_token, time.monotonic())
            raise
        expires_at = connection.tokens.expires_at
        log.info("Zalo: access token renewed (valid for %.1f h)", ((expires_at or time.time()) - time.time()) / 3600)


async def fresh_token(connection: Connection) -> str:
    """The access token, renewed first when it expires within the margin (a failed early renewal is only logged)."""
    tokens = connection.tokens
    if tokens.expiring(connection.settings.zalo_token_margin):
        try:
            await renew(connection, tokens.access_token)
        except RefreshFailed as error:
            log.error("Zalo: không làm mới được access token sắp hết hạn (%s); vẫn dùng token hiện tại", error)
    return connection.tokens.access_token


def _backoff(attempt: int) -> float:
    return min(2.0 ** (attempt - 1), 8.0)  # 1, 2, 4, 8 s


async def send(connection: Connection, user_id: str, message: dict) -> str:
    """Send one Zalo ``message`` object to ``user_id``; Zalo's message id, or SendFailed."""
    settings = connection.settings
    attempts = max(1, settings.zalo_send_attempts)
    attempt, renewed = 0, False
    while True:
        attempt += 1
        token = await fresh_token(connection)
        try:
            response = await connection.http.post(
                f"{settings.zalo_api_url}/v3.0/oa/message/cs", headers={"access_token": token},
                json={"recipient": {"user_id": user_id}, "message": message})
            body = response.json() if response.status_code != 429 else {"error": -32, "message": "HTTP 429"}
            code = int(body.get("error") or 0)
        except (httpx.HTTPError, ValueError, TypeError, AttributeError) as error:
            if attempt >= attempts:
                raise SendFailed(None, f"Zalo không phản hồi ({type(error).__name__})") from error
            log.warning("Zalo send: %s, retrying in %.0f s (attempt %d/%d)", type(error).__name__, _backoff(attempt), attempt, attempts)
            await connection.sleep(_backoff(attempt))
            continue
        if code == 0:
            data = body.get("data") if isinstance(body.get("data"), dict) else {}
            return str(data.get("message_id") or "")
        if code in TOKEN_ERRORS and not renewed:
            renewed, attempt = True, attempt - 1  # a renewal is not a failed try
            try:
                await renew(connection, token)
            except RefreshFailed as error:
                log.error("Zalo: access token bị từ chối và không làm mới được (%s)", error)
                raise SendFailed(code, f"access token hết hạn, không làm mới được: {error}") from error
            continue
        if code in RATE_LIMIT_ERRORS and attempt < attempts:
            log.warning("Zalo send: rate limit (%d), retrying in %.0f s (attempt %d/%d)", code, _backoff(attempt), attempt, attempts)
            await connection.sleep(_backoff(attempt))
            continue
        raise SendFailed(code, str(body.get("message") or ""))
