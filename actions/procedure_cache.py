"""Procedure records for the actions, kept until the catalogue changes (or a while, as a safety net)."""
from __future__ import annotations

import threading
import time

from bot.settings import get_settings
from knowledge_base.catalogue import get_procedure
from knowledge_base.db import session_factory
from knowledge_base.records import ProcedureRecord
from knowledge_base.revisions import CATALOGUE, Watched

TTL_SECONDS = 30.0  # a change written without bumping the catalogue revision still shows within this
MAX_ENTRIES = 1024

Entries = dict[str, tuple[float, ProcedureRecord | None]]


class ProcedureCache:
    """``get(code)``: the record (or None when absent); emptied as soon as the catalogue revision moves."""

    def __init__(self, ttl: float = TTL_SECONDS) -> None:
        self._ttl = ttl
        self._by_database: dict[str, Watched[Entries]] = {}
        self._lock = threading.Lock()

    def _entries(self, url: str) -> Entries:
        watched = self._by_database.get(url)
        if watched is None:
            with self._lock:
                watched = self._by_database.setdefault(url, Watched(session_factory(url), (CATALOGUE,), dict))
        return watched.get()

    def get(self, code: str) -> ProcedureRecord | None:
        url = get_settings().resolved_database_url  # tests and tools switch databases
        code = code.strip()
        entries = self._entries(url)
        now = time.monotonic()
        cached = entries.get(code)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        with session_factory(url)() as session:
            record = get_procedure(session, code)
        if len(entries) >= MAX_ENTRIES:
            entries.clear()
        entries[code] = (now, record)
        return record

    def clear(self) -> None:
        with self._lock:
            for watched in self._by_database.values():
                watched.get().clear()


procedures = ProcedureCache()
