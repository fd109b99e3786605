"""Procedure records for the actions, each kept a short while: the catalogue is edited live."""
from __future__ import annotations

import threading
import time

from bot.settings import get_settings
from knowledge_base.catalogue import get_procedure
from knowledge_base.db import session_factory
from knowledge_base.records import ProcedureRecord

TTL_SECONDS = 30.0  # an administrator's edit reaches citizens within this
MAX_ENTRIES = 1024


class ProcedureCache:
    """``get(code)``: the record (or None when absent), read again once older than ``ttl``."""

    def __init__(self, ttl: float = TTL_SECONDS) -> None:
        self._ttl = ttl
        self._items: dict[tuple[str, str], tuple[float, ProcedureRecord | None]] = {}
        self._lock = threading.Lock()

    def get(self, code: str) -> ProcedureRecord | None:
        url = get_settings().resolved_database_url  # tests and tools switch databases
        key = (url, code.strip())
        now = time.monotonic()
        cached = self._items.get(key)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        with session_factory(url)() as session:
            record = get_procedure(session, key[1])
        with self._lock:
            if len(self._items) >= MAX_ENTRIES:
                self._items.clear()
            self._items[key] = (now, record)
        return record

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


procedures = ProcedureCache()
