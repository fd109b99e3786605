"""Rasa's in-memory tracker store for one instance on SQLite, forgetting conversations long idle.

Loaded by the Rasa process from the endpoints `hcc run` writes (bot/rasa_stores.py); imports Rasa, so the
gateway never imports it."""
from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any, Callable, Optional

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.conversation import Dialogue
from rasa.shared.core.trackers import DialogueStateTracker


class ExpiringInMemoryTrackerStore(InMemoryTrackerStore):
    """Rasa's in-memory store, which drops a conversation once it has been idle twice the session expiry, and
    keeps each conversation's events as they are rather than as JSON.

    Rasa's keeps every tracker until the process stops, and a province's citizens would fill the memory.
    A conversation idle that long starts a new session anyway, without the old slots (domain.yml), and its
    messages, handoffs and subscriptions live in our database, so forgetting it changes no answer.
    Rasa's also writes each conversation out as JSON at every save and parses it back into events at every
    read, in the one process that keeps them: 0.4 ms of a turn of a three-turn conversation, 1.1 ms of an
    eight-turn one. Events are not changed once they happened, so the read-back tracker is the same."""

    def __init__(self, domain: Domain, event_broker: Optional[EventBroker] = None,
                 clock: Callable[[], float] = time.monotonic, **kwargs: Any) -> None:
        super().__init__(domain, event_broker, **kwargs)
        self._clock = clock
        self._touched: OrderedDict[str, float] = OrderedDict()  # sender → last save, oldest first

    @property
    def idle_seconds(self) -> Optional[float]:
        """None when sessions never expire: such conversations are never forgotten either."""
        # Read at each use: Rasa creates the store before the model and hands it the model's domain later.
        sessions = self.domain.session_config
        return 2 * 60 * sessions.session_expiration_time if sessions.are_sessions_enabled() else None

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Rasa's ``InMemoryTrackerStore.save``, keeping the dialogue its JSON stood for."""
        await self.stream_events(tracker)
        self.store[tracker.sender_id] = tracker.as_dialogue()  # type: ignore[assignment]
        now = self._clock()
        self._touched[tracker.sender_id] = now
        self._touched.move_to_end(tracker.sender_id)
        self._forget_idle(now)

    def deserialise_tracker(self, sender_id: str, dialogue: Dialogue) -> Optional[DialogueStateTracker]:  # type: ignore[override]
        """The tracker of a kept dialogue, as Rasa's rebuilds it from the dialogue's JSON."""
        tracker = self.init_tracker(sender_id)
        tracker.recreate_from_dialogue(dialogue)
        return tracker

    def _forget_idle(self, now: float) -> None:
        idle = self.idle_seconds
        if idle is None:
            return
        while self._touched:
            sender, touched = next(iter(self._touched.items()))
            if now - touched < idle:
                return
            del self._touched[sender]
            self.store.pop(sender, None)
