"""The gateway's client for the Rasa server's REST channel: one shared connection pool per event loop."""
from __future__ import annotations

import asyncio

import httpx

from bot.settings import get_settings

WEBHOOK = "/webhooks/rest/webhook"


class RasaUnavailable(Exception):
    """Rasa (or the action server behind it) did not answer in time or answered with an error."""


_client: httpx.AsyncClient | None = None
_loop: asyncio.AbstractEventLoop | None = None  # connections belong to the loop that opened them


def _shared() -> httpx.AsyncClient:
    """The shared client for the configured Rasa URL (made again on another event loop or Rasa URL)."""
    global _client, _loop
    settings = get_settings()
    loop = asyncio.get_running_loop()
    if (_client is None or _client.is_closed or _loop is not loop
            or str(_client.base_url).rstrip("/") != settings.rasa_url):
        _loop = loop
        # Connect fails fast (a local port); the read covers a whole turn, actions included.
        timeout = httpx.Timeout(settings.rasa_timeout, connect=2.0)
        _client = httpx.AsyncClient(base_url=settings.rasa_url, timeout=timeout,
                                    limits=httpx.Limits(max_connections=100, max_keepalive_connections=20))
    return _client


async def close() -> None:
    """Close the shared client (the app's shutdown; a new event loop needs a new pool)."""
    global _client
    if _client is not None:
        await _client.aclose()
        _client = None


async def send(sender_id: str, text: str, metadata: dict | None = None) -> list[dict]:
    """Rasa's replies to ``text`` from ``sender_id``, in its REST format; RasaUnavailable when it fails.

    ``metadata`` reaches the actions as the message's metadata (e.g. the client address for limits)."""
    body = {"sender": sender_id, "message": text, **({"metadata": metadata} if metadata else {})}
    try:
        response = await _shared().post(WEBHOOK, json=body)
        response.raise_for_status()
        replies = response.json()
    except (httpx.HTTPError, ValueError) as error:
        raise RasaUnavailable(f"{type(error).__name__}: {error}") from error
    if not isinstance(replies, list):
        raise RasaUnavailable(f"unexpected reply {replies!r:.200}")
    return [reply for reply in replies if isinstance(reply, dict)]


async def reachable(url: str, timeout: float = 1.0) -> bool:
    """Whether GET ``url`` (absolute: Rasa's or the action server's status page) answers 200."""
    try:
        response = await _shared().get(url, timeout=timeout)
    except httpx.HTTPError:
        return False
    return response.status_code == 200


async def ready() -> bool:
    """Whether the Rasa server is up with a model loaded (its /status needs ``--enable-api``)."""
    return await reachable(f"{get_settings().rasa_url}/status")
