"""Rasa's tracker store for one instance on SQLite: Rasa loads ours, and it forgets only conversations long idle."""
from __future__ import annotations

import asyncio

import pytest
from rasa.core.tracker_store import TrackerStore
from rasa.core.utils import AvailableEndpoints
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered

from bot.processes import write_endpoints
from bot.rasa_memory_store import ExpiringInMemoryTrackerStore
from bot.settings import PROJECT_ROOT, get_settings

DOMAIN = Domain.load(str(PROJECT_ROOT / "domain.yml"))


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _say(store: ExpiringInMemoryTrackerStore, sender: str, text: str) -> None:
    async def turn() -> None:
        tracker = await store.get_or_create_tracker(sender)
        tracker.update(UserUttered(text))
        await store.save(tracker)

    asyncio.run(turn())


def _said(store: ExpiringInMemoryTrackerStore, sender: str) -> list[str] | None:
    tracker = asyncio.run(store.retrieve(sender))
    return None if tracker is None else [e.text for e in tracker.events if isinstance(e, UserUttered)]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_rasa_on_sqlite_loads_the_expiring_store_with_twice_the_session_expiry(hcc_env):
    endpoints = AvailableEndpoints.read_endpoints(str(write_endpoints(get_settings())))
    store = TrackerStore.create(endpoints.tracker_store)  # as Rasa's load_agent does: the model comes later
    assert isinstance(store, ExpiringInMemoryTrackerStore)  # not Rasa's silent fallback to its own store
    store.domain = Domain.from_dict({**DOMAIN.as_dict(), "session_config": {"session_expiration_time": 5}})
    assert store.idle_seconds == 2 * 5 * 60
    store.domain = DOMAIN  # the model's domain, handed over when it loads
    assert DOMAIN.session_config.session_expiration_time == 60
    assert store.idle_seconds == 2 * 60 * 60


def test_only_conversations_idle_past_the_limit_are_forgotten():
    clock = Clock()
    store = ExpiringInMemoryTrackerStore(DOMAIN, clock=clock)
    _say(store, "widget:a", "xin chào")
    clock.now = 3000
    _say(store, "widget:b", "lệ phí hộ chiếu")
    clock.now = store.idle_seconds - 1
    _say(store, "widget:c", "cảm ơn")
    assert [_said(store, s) for s in ("widget:a", "widget:b", "widget:c")] == [["xin chào"], ["lệ phí hộ chiếu"], ["cảm ơn"]]
    clock.now = store.idle_seconds + 10
    _say(store, "widget:b", "còn thời hạn?")  # b spoke again: it is kept, a is forgotten
    assert _said(store, "widget:a") is None
    assert _said(store, "widget:b") == ["lệ phí hộ chiếu", "còn thời hạn?"]
    assert _said(store, "widget:c") == ["cảm ơn"]
    assert set(asyncio.run(store.keys())) == {"widget:b", "widget:c"}
    _say(store, "widget:a", "tôi quay lại")  # a returning citizen starts afresh
    assert _said(store, "widget:a") == ["tôi quay lại"]


def test_sessions_that_never_expire_are_never_forgotten():
    domain = Domain.from_dict({**DOMAIN.as_dict(), "session_config": {"session_expiration_time": 0}})
    clock = Clock()
    store = ExpiringInMemoryTrackerStore(domain, clock=clock)
    assert store.idle_seconds is None
    _say(store, "rest:x", "xin chào")
    clock.now = 10**9
    _say(store, "rest:y", "xin chào")
    assert _said(store, "rest:x") == ["xin chào"]


def test_reads_back_what_rasas_own_in_memory_store_reads_back_and_only_what_was_saved():
    from rasa.core.tracker_store import InMemoryTrackerStore
    from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet

    ours, rasa = ExpiringInMemoryTrackerStore(DOMAIN), InMemoryTrackerStore(DOMAIN)
    session = [ActionExecuted("action_session_start", timestamp=1.0), SessionStarted(timestamp=2.0),
               ActionExecuted("action_listen", timestamp=3.0)]
    turn = [UserUttered("le phi lam ho chieu bn", {"name": "ask_fee", "confidence": 0.9}, timestamp=4.0),
            SlotSet("procedure_code", "1.001193", timestamp=5.0), ActionExecuted("action_answer_procedure", timestamp=6.0),
            BotUttered("Lệ phí: 200.000 đồng", {"buttons": [{"title": "Xem đầy đủ", "payload": "/x"}]}, timestamp=7.0),
            ActionExecuted("action_listen", timestamp=8.0)]

    async def play(store) -> list:
        seen = []
        for events in (session + turn, turn, session + turn):  # the third starts a new session
            tracker = await store.get_or_create_tracker("citizen-1", append_action_listen=False)
            for event in events:
                tracker.update(event)
            await store.save(tracker)
            tracker.update(UserUttered("chưa lưu", timestamp=9.0))  # after the save: not part of what was saved
            latest, full = await store.retrieve("citizen-1"), await store.retrieve_full_tracker("citizen-1")
            latest.update(UserUttered("cũng chưa lưu", timestamp=9.5))
            seen.append(([e.as_dict() for e in latest.events], [e.as_dict() for e in full.events],
                         latest.current_slot_values(), latest.active_loop))
        return seen

    seen = asyncio.run(play(ours))
    assert seen == asyncio.run(play(rasa))
    # The last read-back is the new session alone; each has one unsaved message added after reading.
    assert [len(latest) for latest, *_ in seen] == [9, 14, 9] and seen[1][2]["procedure_code"] == "1.001193"
    assert not any(e.get("text") in ("chưa lưu", "cũng chưa lưu") for _, full, *_ in seen for e in full)
