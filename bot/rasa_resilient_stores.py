"""Rasa's SQL tracker store and Redis lock store, made to outlive a PostgreSQL or Redis outage.

Loaded by the Rasa process from the endpoints `hcc run` writes (bot/rasa_stores.py); imports Rasa, so the
gateway never imports it."""
from __future__ import annotations

import itertools
import json
import logging
import time
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Callable, TypeVar

import redis
import sqlalchemy as sa
from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, InMemoryLockStore, LockError, RedisLockStore
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.events import Event, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from rasa.utils.endpoints import EndpointConfig

log = logging.getLogger(__name__)
T = TypeVar("T")


# On a tracker this store read: how many of its events are stored. Rasa's save counts them in the database
# first; a tracker read in the same locked turn already knows.
STORED = "_hcc_stored_events"


class ResilientSQLTrackerStore(SQLTrackerStore):
    """Rasa's SQL tracker store that outlives a database restart, and whose reads and saves are cheaper.

    After a restart every pooled connection is dead: Rasa would answer the first turn from an empty tracker
    (the conversation starts over) and never store it. Here a read or a save that meets a dropped connection
    runs once more; SQLAlchemy has by then discarded the whole pool, so the second try connects anew. That
    costs nothing while the database is up, where testing each connection before lending it cost a round
    trip per checkout. Rasa's save opened a transaction, counted the stored events with an ORM query built
    anew, and added an ORM object per event; this one stores the same rows with one multi-row insert, counting
    only for a tracker it did not read itself, and reads with one prebuilt statement. Each is a single
    statement, so it runs without BEGIN and COMMIT: one round trip for a read, one for a save."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        url = self.engine.url
        self.engine.dispose()
        # Set on the engine, not per connection: a connection switched for one use is switched back on its return,
        # one more round trip.
        self.engine = sa.create_engine(url, isolation_level="AUTOCOMMIT", **create_engine_kwargs(url))
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        events = self.SQLEvent.__table__
        self._stored_in_session = _stored_in_session(events)
        self._insert = events.insert()
        latest, every = _in_session(events), events.c.sender_id == sa.bindparam("sender_id")
        self._events = {False: sa.select(events.c.data).where(every, latest).order_by(events.c.id),
                        True: sa.select(events.c.data).where(every).order_by(events.c.id)}

    async def _retrieve(self, sender_id: str, fetch_events_from_all_sessions: bool) -> DialogueStateTracker | None:
        """Rasa's: the tracker from the latest session's events (or all of them), None when there are none."""
        statement = self._events[fetch_events_from_all_sessions]

        def read() -> list[dict]:
            with self.engine.connect() as connection:
                return [json.loads(data) for data in connection.execute(statement, {"sender_id": sender_id}).scalars()]

        events = _once_more_if_dropped(read)
        if not (self.domain and events):
            return None
        tracker = DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        if not fetch_events_from_all_sessions:  # what Rasa's save would count: the latest session's events
            setattr(tracker, STORED, len(events))
        return tracker

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Rasa's ``SQLTrackerStore.save``: the tracker's events not stored yet, as the same rows."""
        await self.stream_events(tracker)

        def store(stored: int | None) -> None:
            with self.engine.connect() as connection:
                if stored is None:
                    stored = connection.execute(self._stored_in_session, {"sender_id": tracker.sender_id}).scalar()
                rows = [_event_row(tracker.sender_id, event) for event in itertools.islice(tracker.events, stored, None)]
                if rows:
                    connection.execute(self._insert, rows)

        # A retry counts: the first try may have stored the rows before its connection dropped.
        _once_more_if_dropped(lambda: store(getattr(tracker, STORED, None)), again=lambda: store(None))
        setattr(tracker, STORED, len(tracker.events))


def _once_more_if_dropped(work: Callable[[], T], again: Callable[[], T] | None = None) -> T:
    """``work()``; if the database had dropped the connection it was given, ``again()`` (or ``work()``) on a new one."""
    try:
        return work()
    except sa.exc.DBAPIError as error:
        if not error.connection_invalidated:
            raise
        log.info("a pooled database connection had been dropped; trying again on a new one")
        return (again or work)()


def _in_session(events: sa.Table) -> sa.sql.ColumnElement:
    """Rasa's condition for an event of the latest session: from its SessionStarted on, or any before one."""
    started = sa.select(sa.func.max(events.c.timestamp)).where(
        events.c.sender_id == sa.bindparam("sender_id"), events.c.type_name == SessionStarted.type_name
    ).scalar_subquery()
    return sa.or_(events.c.timestamp >= started, started.is_(None))


def _stored_in_session(events: sa.Table) -> sa.sql.Select:
    """How many events of a sender the latest session has stored."""
    return sa.select(sa.func.count()).select_from(events).where(
        events.c.sender_id == sa.bindparam("sender_id"), _in_session(events))


def _event_row(sender_id: str, event: Event) -> dict[str, Any]:
    """The events row Rasa's ``SQLTrackerStore.save`` writes for ``event``."""
    data = event.as_dict()
    return {"sender_id": sender_id, "type_name": event.type_name, "timestamp": data.get("timestamp"),
            "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
            "action_name": data.get("name"), "data": json.dumps(data)}


# One change of a stored TicketLock, done by Redis itself: one round trip, and no other instance can write the
# lock in between. KEYS[1] the lock; ARGV: change ("issue", "expire", "release"), the caller's clock, the
# lifetime or ticket number, the conversation. Expiry and numbering as rasa.core.lock.TicketLock, and the
# same JSON (each ticket a JSON string inside), so Rasa's get_lock reads it.
_CHANGE_LOCK = """
local stored = redis.call('GET', KEYS[1])
local change, now = ARGV[1], tonumber(ARGV[2])
if not stored and change ~= 'issue' then return nil end
local tickets = {}
for _, text in ipairs(stored and cjson.decode(stored).tickets or {}) do
  local ticket = cjson.decode(text)
  if ticket.expires >= now then table.insert(tickets, ticket) end
end
local issued = nil
if change == 'issue' then
  issued = #tickets > 0 and tickets[#tickets].number + 1 or 0
  table.insert(tickets, {number = issued, expires = now + tonumber(ARGV[3])})
elseif change == 'release' then
  for i, ticket in ipairs(tickets) do
    if ticket.number == tonumber(ARGV[3]) then table.remove(tickets, i) break end
  end
  if #tickets == 0 then redis.call('DEL', KEYS[1]) return nil end
end
local texts = {}
for i, ticket in ipairs(tickets) do
  texts[i] = cjson.encode(cjson.encode({number = ticket.number, expires = ticket.expires}))
end
local lock = '{"conversation_id": ' .. cjson.encode(ARGV[4]) .. ', "tickets": [' .. table.concat(texts, ', ') .. ']}'
redis.call('SET', KEYS[1], lock)
if issued then return {issued, lock} end
return nil
"""


class FallbackRedisLockStore(RedisLockStore):
    """Rasa's Redis lock store with each change of a lock one atomic Redis script, and an in-process lock for
    a turn that finds Redis unreachable.

    Rasa's own store reads a lock, changes it and writes it back: two instances issuing tickets at the same
    moment both got the same one and handled one conversation at once (a turn then went missing from the
    tracker), and a ticket released meanwhile could drop another's. The script also hands back the lock it
    issued a ticket on, so a turn nobody is ahead of starts without reading it again: two round trips a turn
    where a read-change-write under WATCH took seven. Turns go on being answered while Redis is away; only the
    order of one conversation's messages sent to two Rasa instances at once is not guaranteed until it is
    back. Any ``key_prefix`` is kept as given (Rasa's own store drops one that is not alphanumeric, such as
    ``hcc:``)."""

    def __init__(self, endpoint_config: EndpointConfig) -> None:
        options = dict(endpoint_config.kwargs)
        prefix = options.pop("key_prefix", None)
        super().__init__(host=endpoint_config.url or "localhost", **options)
        if prefix:
            self.key_prefix = prefix
        self._local = InMemoryLockStore()
        self._change_lock = self.red.register_script(_CHANGE_LOCK)

    @asynccontextmanager
    async def lock(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME,
                   wait_time_in_seconds: float = 1) -> AsyncIterator[TicketLock]:
        try:
            ticket, lock = self._issue(conversation_id, lock_lifetime)
        except LockError as error:
            if not isinstance(error.__context__, redis.RedisError):
                raise
            log.warning("Redis lock store unavailable (%s): this turn is locked in this process only",
                        type(error.__context__).__name__)
            async with self._local.lock(conversation_id, lock_lifetime, wait_time_in_seconds) as local:
                yield local
            return
        try:
            if lock.is_locked(ticket):
                lock = await self._acquire_lock(conversation_id, ticket, wait_time_in_seconds)
            yield lock
        finally:
            self._release(conversation_id, ticket)

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        return self._issue(conversation_id, lock_lifetime)[0]

    def _issue(self, conversation_id: str, lock_lifetime: float) -> tuple[int, TicketLock]:
        """A new ticket, and the lock as it stood with it."""
        try:
            ticket, stored = self._change(conversation_id, "issue", lock_lifetime)
        except Exception as error:
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error
        return ticket, TicketLock.from_dict(json.loads(stored))

    def update_lock(self, conversation_id: str) -> None:
        self._change(conversation_id, "expire")

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        self._change(conversation_id, "release", ticket_number)

    def _change(self, conversation_id: str, change: str, argument: float = 0) -> Any:
        return self._change_lock(keys=[self.key_prefix + conversation_id],
                                 args=[change, repr(time.time()), repr(argument), conversation_id])

    def _release(self, conversation_id: str, ticket: int) -> None:
        """Give the ticket back; Redis lost meanwhile must not cost the turn its answer (the ticket expires)."""
        try:
            self.cleanup(conversation_id, ticket)
        except redis.RedisError as error:
            log.warning("lock of a turn not released, Redis unavailable: %s", type(error).__name__)
