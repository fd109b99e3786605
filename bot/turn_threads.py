"""The worker threads a citizen's turn runs its blocking calls in (the database, Redis): a few, of its own.

Starlette lends up to 40 threads. Under load, tens of them took turns at the GIL with the event loop, and each
waited its turn: with 32 turns in flight, the storage calls took p95 120–135 ms on 40 threads and 49–57 ms
on 4, and 18 % more turns went through. A pool of their own also keeps an administrator's import or chart,
which may hold a Starlette thread for seconds, from holding up citizens."""
from __future__ import annotations

import functools
from typing import Callable, TypeVar

from anyio import CapacityLimiter, to_thread
from anyio.lowlevel import RunVar

from bot.settings import get_settings

T = TypeVar("T")
_limiter: RunVar[CapacityLimiter] = RunVar("hcc_turn_threads")  # one per event loop, as anyio's own


async def run(func: Callable[..., T], *args: object) -> T:
    """``func(*args)`` in one of the turn threads (``HCC_TURN_THREADS``), waiting for one to be free."""
    return await to_thread.run_sync(functools.partial(func, *args), limiter=_current())


def _current() -> CapacityLimiter:
    try:
        return _limiter.get()
    except LookupError:
        limiter = CapacityLimiter(get_settings().turn_threads)
        _limiter.set(limiter)
        return limiter
