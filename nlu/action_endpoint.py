"""Rasa opens a new aiohttp session, hence a new TCP connection, for every call to the action server
(``EndpointConfig.request`` closes its session each time): connecting, the action server accepting,
and both closing cost CPU on every turn. Here each endpoint keeps one session per event loop, its
connections kept alive between calls. Requests, headers, auth, timeouts and errors are unchanged."""
from __future__ import annotations

import asyncio
import weakref

import aiohttp

from bot.settings import get_settings


class _Kept:
    """``async with`` over a shared session that leaves it open for the next call."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session

    async def __aenter__(self) -> aiohttp.ClientSession:
        return self._session

    async def __aexit__(self, *exc_info: object) -> None:
        return None


def kept_session(endpoint) -> _Kept:
    """The endpoint's session on the running loop: as ``EndpointConfig.session`` makes it, connections kept alive."""
    from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT

    by_loop = endpoint.__dict__.setdefault("_kept_sessions", weakref.WeakKeyDictionary())
    loop = asyncio.get_running_loop()
    session = by_loop.get(loop)
    if session is None or session.closed:
        auth = aiohttp.BasicAuth(endpoint.basic_auth["username"], endpoint.basic_auth["password"]) if endpoint.basic_auth else None
        session = aiohttp.ClientSession(headers=endpoint.headers, auth=auth,
                                        timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
                                        connector=aiohttp.TCPConnector(keepalive_timeout=get_settings().client_keepalive))
        by_loop[loop] = session
    return _Kept(session)


def install() -> None:
    """Make ``EndpointConfig.request`` reuse the endpoint's kept session (idempotent)."""
    from rasa.utils.endpoints import EndpointConfig

    EndpointConfig.session = kept_session
