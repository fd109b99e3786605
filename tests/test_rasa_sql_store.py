"""The SQL tracker store Rasa uses on PostgreSQL (bot/rasa_resilient_stores.py) stores what Rasa's own stores."""
from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import create_engine, text

from bot.rasa_stores import tracker_store
from conftest import _postgres_base_url
from nlu.training import PROJECT_ROOT, prepare_rasa
from shared_storage import end_connections

pytestmark = pytest.mark.postgres


@pytest.fixture
def stores():
    """Rasa's own SQL tracker store and ours, each on a throw-away PostgreSQL schema of its own."""
    prepare_rasa()
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain

    from bot.rasa_resilient_stores import ResilientSQLTrackerStore

    base = _postgres_base_url()
    schemas = [f"hcc_test_{uuid.uuid4().hex[:12]}" for _ in range(2)]
    admin = create_engine(base, future=True)
    with admin.begin() as connection:
        for schema in schemas:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        domain = Domain.load(str(PROJECT_ROOT / "domain.yml"))
        made = []
        for cls, schema in zip((SQLTrackerStore, ResilientSQLTrackerStore), schemas):
            url = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}&application_name={schema}"
            options = {key: value for key, value in tracker_store(url).items() if key != "type"}
            made.append((cls(domain, **options), url))
        yield domain, made
        for store, _ in made:
            store.engine.dispose()
    finally:
        with admin.begin() as connection:
            for schema in schemas:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _turns(domain):
    from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered

    start = [ActionExecuted("action_session_start", timestamp=1.0), SessionStarted(timestamp=2.0),
             ActionExecuted("action_listen", timestamp=3.0)]
    turn = lambda t: [UserUttered("le phi lam ho chieu bn", {"name": "ask_fee", "confidence": 0.9}, timestamp=t),  # noqa: E731
                      SlotSet("procedure", "1.001193", timestamp=t + 0.1),
                      ActionExecuted("action_answer_procedure", timestamp=t + 0.2),
                      BotUttered("Lệ phí: 200.000 đồng", {"buttons": []}, timestamp=t + 0.3),
                      ActionExecuted("action_listen", timestamp=t + 0.4)]
    # Two turns, then a new session (as after an hour away) and a third turn.
    return [start + turn(10.0), turn(20.0), start[:1] + [SessionStarted(timestamp=30.0)] + start[2:] + turn(40.0)]


def _rows(url: str) -> list[tuple]:
    engine = create_engine(url, future=True)
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT sender_id, type_name, timestamp, intent_name, action_name, data FROM events ORDER BY id")).all()
    engine.dispose()
    return [tuple(row) for row in rows]


def test_saves_and_reads_back_the_rows_rasas_own_store_does(stores):
    from rasa.shared.core.trackers import DialogueStateTracker

    domain, made = stores

    async def play(store) -> list:
        read = []
        for events in _turns(domain):
            tracker = await store.retrieve("citizen-1") or DialogueStateTracker("citizen-1", domain.slots)
            for event in events:
                tracker.update(event)
            await store.save(tracker)
            read.append([event.as_dict() for event in (await store.retrieve("citizen-1")).events])
        read.append([event.as_dict() for event in (await store.retrieve_full_tracker("citizen-1")).events])
        return read, await store.retrieve("nobody")

    (rasa, rasa_url), (ours, ours_url) = made
    ours_read, rasa_read = asyncio.run(play(ours)), asyncio.run(play(rasa))
    assert ours_read == rasa_read and ours_read[1] is None
    # From each SessionStarted on (its timestamp): the new session reads back alone, the full tracker has all.
    assert [len(events) for events in ours_read[0]] == [7, 12, 6, 21]
    assert _rows(ours_url) == _rows(rasa_url) and len(_rows(ours_url)) == 8 + 5 + 8


def test_a_dropped_pooled_connection_costs_no_turn(stores):
    """After the server ends the pooled connections (a restart), the next read and save work on new ones."""
    from rasa.shared.core.trackers import DialogueStateTracker

    domain, made = stores
    _, (ours, ours_url) = made
    first, second, _ = _turns(domain)

    async def play() -> tuple:
        tracker = DialogueStateTracker("citizen-2", domain.slots)
        for event in first:
            tracker.update(event)
        await ours.save(tracker)
        dropped_before_read = end_connections(_postgres_base_url(), ours_url.rsplit("application_name=", 1)[1])
        tracker = await ours.retrieve("citizen-2")
        read = len(tracker.events)
        for event in second:
            tracker.update(event)
        dropped_before_save = end_connections(_postgres_base_url(), ours_url.rsplit("application_name=", 1)[1])
        await ours.save(tracker)
        return dropped_before_read, read, dropped_before_save, len((await ours.retrieve("citizen-2")).events)

    dropped_before_read, read, dropped_before_save, after = asyncio.run(play())
    assert dropped_before_read >= 1 and dropped_before_save >= 1  # the pool really held a dead connection
    assert (read, after) == (7, 12)  # as without the drop (first test): from the SessionStarted on
    assert len(_rows(ours_url)) == len(first) + len(second)  # stored once, not twice


def test_a_turn_reads_and_saves_in_one_statement_each_outside_any_transaction(stores, monkeypatch):
    """A tracker read from the store is saved without counting its stored events again; nothing waits on
    BEGIN or COMMIT. A tracker the store did not read (a new conversation) is counted first, as Rasa does."""
    from rasa.shared.core.trackers import DialogueStateTracker
    from sqlalchemy import event

    domain, made = stores
    _, (ours, ours_url) = made
    first, second, third = _turns(domain)
    executed = []

    def record(connection, _cursor, statement, _parameters, _context, _many) -> None:
        executed.append((statement.split()[0], connection.connection.dbapi_connection.autocommit))

    event.listen(ours.engine, "before_cursor_execute", record)
    resets = []  # a connection switched to autocommit for one use is switched back on return: a round trip
    reset = ours.engine.dialect.reset_isolation_level
    monkeypatch.setattr(ours.engine.dialect, "reset_isolation_level", lambda dbapi: resets.append(dbapi) or reset(dbapi))

    async def play() -> list[list]:
        statements = []
        tracker = DialogueStateTracker("citizen-3", domain.slots)
        for events in (first, second, third):
            executed.clear()
            for event_ in events:
                tracker.update(event_)
            await ours.save(tracker)
            tracker = await ours.retrieve("citizen-3")
            statements.append(list(executed))
        return statements

    statements = asyncio.run(play())
    assert statements[0] == [("SELECT", True), ("INSERT", True), ("SELECT", True)]  # count, insert, read
    assert statements[1] == statements[2] == [("INSERT", True), ("SELECT", True)]
    assert resets == []
    assert len(_rows(ours_url)) == len(first) + len(second) + len(third)
