"""Live knowledge: every FAQ or catalogue change bumps a counter in its own transaction; each process
(Rasa, the action server, the gateway) watches the counters and rebuilds what depends on them in the
background, so a published change reaches citizens within about a second, with no restart.
"""
from __future__ import annotations

import logging
import threading
import time
import weakref
from typing import Callable, Generic, Sequence, TypeVar

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from knowledge_base.heap import freeze_survivors, release_freed_memory
from knowledge_base.models import KbRevision, utcnow

CATALOGUE, FAQ = "catalogue", "faq"
KINDS = (CATALOGUE, FAQ)
T = TypeVar("T")
logger = logging.getLogger(__name__)


def bump(session: Session, kind: str) -> None:
    """Mark ``kind`` changed; call it inside the transaction that makes the change."""
    if kind not in KINDS:
        raise ValueError(f"unknown knowledge kind {kind!r}")
    updated = session.execute(update(KbRevision).where(KbRevision.kind == kind)
                              .values(number=KbRevision.number + 1, changed_at=utcnow()))
    if updated.rowcount == 0:  # a database migrated before the seed rows existed
        session.add(KbRevision(kind=kind, number=1, changed_at=utcnow()))
    session.flush()


def current(session: Session, kinds: Sequence[str] = KINDS) -> tuple[int, ...]:
    """The revision numbers of ``kinds``, in that order (0 for a kind never changed)."""
    found = dict(session.execute(select(KbRevision.kind, KbRevision.number).where(KbRevision.kind.in_(kinds))).all())
    return tuple(found.get(kind, 0) for kind in kinds)


class Watched(Generic[T]):
    """A value built from the database and rebuilt, off the request path, whenever ``kinds`` change.

    ``get()`` never waits once the first value exists: readers get the old value, whole, until the new
    one replaces it (one reference swap). A daemon thread polls the revisions every ``interval`` seconds
    and stops when the Watched is garbage-collected.
    """

    def __init__(self, sessions: Callable[[], Session], kinds: Sequence[str], build: Callable[[], T],
                 interval: float | None = None) -> None:
        if interval is None:
            from bot.settings import get_settings

            interval = get_settings().live_check_seconds
        self._sessions, self._kinds, self._build, self._interval = sessions, tuple(kinds), build, interval
        self._value: T | None = None
        self._revision: tuple[int, ...] | None = None
        self._lock = threading.Lock()
        self._watcher: threading.Thread | None = None

    def revision(self) -> tuple[int, ...]:
        with self._sessions() as session:
            return current(session, self._kinds)

    def get(self) -> T:
        value = self._value
        if value is None:
            with self._lock:
                if self._value is None:
                    self._rebuild()
                    self._start_watching()
                value = self._value
        return value

    def refresh(self) -> T:
        """Rebuild now (the caller waits) and swap."""
        with self._lock:
            self._rebuild()
        return self._value

    def _rebuild(self) -> None:
        revision = self.revision()  # read before building: a change during the build triggers another
        self._value = self._build()
        self._revision = revision
        freeze_survivors()  # the new value lives until the next change
        release_freed_memory()  # the build's scaffolding, and the value it replaced

    def check(self) -> bool:
        """Rebuild if the revisions moved since the last build; True when it did."""
        if self.revision() == self._revision:
            return False
        with self._lock:
            self._rebuild()
        return True

    def _start_watching(self) -> None:
        if self._watcher is None and self._interval > 0:
            self._watcher = threading.Thread(target=_watch, args=(weakref.ref(self), self._interval),
                                             name=f"hcc-live-{'-'.join(self._kinds)}", daemon=True)
            self._watcher.start()


def _watch(ref: "weakref.ref[Watched]", interval: float) -> None:
    last_error = 0.0
    while True:
        time.sleep(interval)
        watched = ref()
        if watched is None:
            return
        try:
            watched.check()
        except Exception:  # a database hiccup: keep serving the old value, say so at most once a minute
            if time.monotonic() - last_error > 60:
                last_error = time.monotonic()
                logger.exception("checking knowledge revisions failed")
        del watched
