"""Inbound message rate limits: fixed one-minute windows, in memory or shared through Redis."""
from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable, Protocol

import redis

from bot import turn_threads
from bot.settings import Settings, get_settings

log = logging.getLogger(__name__)

WINDOW_SECONDS = 60


class Counter(Protocol):
    waits_on_network: bool  # a hit then runs in a worker thread, not on the event loop

    def hit(self, key: str, window: int) -> tuple[int, float]:
        """Count one more event under ``key``: the count in the current window and the seconds it has left."""


@dataclass
class MemoryCounter:
    """Counts of this process only (one gateway instance)."""

    waits_on_network = False
    clock: Callable[[], float] = time.monotonic
    _windows: dict[str, tuple[float, int]] = field(default_factory=dict)  # key → (window end, count)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _swept: float = 0.0

    def hit(self, key: str, window: int) -> tuple[int, float]:
        now = self.clock()
        with self._lock:
            if now - self._swept >= window:  # forget finished windows, so memory follows the active senders
                self._windows = {k: v for k, v in self._windows.items() if v[0] > now}
                self._swept = now
            end, count = self._windows.get(key, (0.0, 0))
            if end <= now:
                end, count = now + window, 0
            self._windows[key] = (end, count + 1)
            return count + 1, end - now


@dataclass
class RedisCounter:
    """Counts shared by every gateway instance on one Redis; the window starts at a key's first hit."""

    client: redis.Redis
    prefix: str
    waits_on_network = True

    def hit(self, key: str, window: int) -> tuple[int, float]:
        name = f"{self.prefix}rate:{key}"
        # One MULTI: the key gets its expiry in the same step that creates it, so none outlives its window.
        pipe = self.client.pipeline(transaction=True)
        pipe.set(name, 0, ex=window, nx=True)
        pipe.incr(name)
        pipe.pttl(name)
        _, count, pttl = pipe.execute()
        return int(count), max(pttl, 0) / 1000


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0  # whole seconds until every exceeded window has ended


@lru_cache(maxsize=1)
def counter_for(settings: Settings) -> Counter:
    """The counter the settings ask for (a fresh one when the settings change, e.g. between tests)."""
    if settings.redis_url:
        client = redis.Redis.from_url(settings.redis_url, socket_timeout=settings.redis_timeout,
                                      socket_connect_timeout=settings.redis_timeout)
        return RedisCounter(client, settings.redis_prefix)
    return MemoryCounter()


def check(limits: dict[str, int], counter: Counter | None = None) -> Verdict:
    """Count one message under each key of ``limits`` (key → allowed per minute; 0 means unlimited).

    When Redis cannot be reached the message is allowed: the limit protects the service, it must not stop it."""
    counter = counter or counter_for(get_settings())
    retry_after = 0
    for key, limit in limits.items():
        if limit <= 0:
            continue
        try:
            count, left = counter.hit(key, WINDOW_SECONDS)
        except redis.RedisError as error:
            log.warning("rate limit not checked, Redis unavailable: %s", type(error).__name__)
            continue
        if count > limit:
            retry_after = max(retry_after, math.ceil(left), 1)
    return Verdict(retry_after == 0, retry_after)


async def checked(limits: dict[str, int]) -> Verdict:
    """:func:`check` from the event loop: in a worker thread only when the counter waits on the network (in memory
    it is microseconds)."""
    counter = counter_for(get_settings())
    if not counter.waits_on_network:
        return check(limits, counter)
    return await turn_threads.run(check, limits, counter)


def refusal_text(retry_after: int) -> str:
    return (f"Anh/chị gửi tin nhắn quá nhanh nên tin nhắn vừa rồi chưa được tiếp nhận. "
            f"Anh/chị vui lòng đợi {retry_after} giây rồi gửi lại.")
