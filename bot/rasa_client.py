"""The gateway's client for the Rasa server's REST channel: one shared connection pool per event loop.

aiohttp (installed with Rasa) rather than httpx: per turn it costs the gateway about a sixth of the CPU
(measured 0.4 ms against 2.5–3 ms per request on loopback), and every turn makes one such request.
"""
from __future__ import annotations

import asyncio

import aiohttp

from bot.settings import get_settings

WEBHOOK = "/webhooks/rest/webhook"
FAILURES = (aiohttp.ClientError, asyncio.TimeoutError, ValueError)


class RasaUnavailable(Exception):
    """Rasa (or the action server behind it) did not answer in time or answered with an error."""


_session: aiohttp.ClientSession | None = None
_loop: asyncio.AbstractEventLoop | None = None  # connections belong to the loop that opened them
_base: str | None = None


def _shared() -> aiohttp.ClientSession:
    """The shared session for the configured Rasa URL (made again on another event loop or Rasa URL)."""
    global _session, _loop, _base
    settings = get_settings()
    loop = asyncio.get_running_loop()
    if _session is None or _session.closed or _loop is not loop or _base != settings.rasa_url:
        _loop, _base = loop, settings.rasa_url
        # Connect fails fast (a local port); the read covers a whole turn, actions included.
        timeout = aiohttp.ClientTimeout(total=None, connect=settings.rasa_timeout, sock_connect=2.0,
                                        sock_read=settings.rasa_timeout)
        connector = aiohttp.TCPConnector(limit=100, keepalive_timeout=settings.client_keepalive)
        _session = aiohttp.ClientSession(timeout=timeout, connector=connector)
    return _session


async def close() -> None:
    """Close the shared session (the app's shutdown; a new event loop needs a new pool)."""
    global _session
    if _session is not None:
        await _session.close()
        _session = None


async def send(sender_id: str, text: str, metadata: dict | None = None) -> list[dict]:
    """Rasa's replies to ``text`` from ``sender_id``, in its REST format; RasaUnavailable when it fails.

    ``metadata`` reaches the actions as the message's metadata (e.g. the client address for limits)."""
    body = {"sender": sender_id, "message": text, **({"metadata": metadata} if metadata else {})}
    session = _shared()
    try:
        async with session.post(f"{_base}{WEBHOOK}", json=body) as response:
            response.raise_for_status()
            replies = await response.json(content_type=None)
    except FAILURES as error:
        raise RasaUnavailable(f"{type(error).__name__}: {error}") from error
    if not isinstance(replies, list):
        raise RasaUnavailable(f"unexpected reply {replies!r:.200}")
    return [reply for reply in replies if isinstance(reply, dict)]


async def reachable(url: str, timeout: float = 1.0) -> bool:
    """Whether GET ``url`` (absolute: Rasa's or the action server's status page) answers 200."""
    try:
        async with _shared().get(url, timeout=aiohttp.ClientTimeout(total=timeout)) as response:
            return response.status == 200
    except FAILURES:
        return False


async def ready() -> bool:
    """Whether the Rasa server is up with a model loaded (its /status needs ``--enable-api``)."""
    return await reachable(f"{get_settings().rasa_url}/status")
