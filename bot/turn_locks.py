"""One asyncio lock per citizen of a channel, so a citizen's replies come in the order of their messages."""
from __future__ import annotations

import asyncio
import weakref


class TurnLocks:
    """``locks(key)``: the key's lock, kept only while a turn holds or awaits it (weak values: no growth)."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def __call__(self, key: str) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock
