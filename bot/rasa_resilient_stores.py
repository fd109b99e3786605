"""Rasa's SQL tracker store and Redis lock store, made to outlive a PostgreSQL or Redis outage.

Loaded by the Rasa process from the endpoints `hcc run` writes (bot/rasa_stores.py); imports Rasa, so the
gateway never imports it."""
from __future__ import annotations

import itertools
import json
import logging
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Callable, Iterator

import redis
import sqlalchemy as sa
from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, InMemoryLockStore, LockError, RedisLockStore
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.events import Event, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy.orm import Session
from rasa.utils.endpoints import EndpointConfig

log = logging.getLogger(__name__)


class PingingSQLTrackerStore(SQLTrackerStore):
    """Rasa's SQL tracker store whose pool tests a connection before lending it, and whose save is cheaper.

    Without the test the first turn after a database restart meets a dead pooled connection; Rasa then answers
    from an empty tracker (the conversation starts over) and never stores that turn. Rasa's save built its ORM
    count query and an ORM object per event anew every turn: a quarter of the Rasa server's CPU on PostgreSQL.
    This one stores the same rows with one prebuilt count and one multi-row insert, and reads them back
    with prebuilt statements, without ORM objects."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        url = self.engine.url
        self.engine.dispose()
        self.engine = sa.create_engine(url, pool_pre_ping=True, **create_engine_kwargs(url))
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        events = self.SQLEvent.__table__
        self._stored_in_session = _stored_in_session(events)
        latest, every = _in_session(events), events.c.sender_id == sa.bindparam("sender_id")
        self._events = {False: sa.select(events.c.data).where(every, latest).order_by(events.c.id),
                        True: sa.select(events.c.data).where(every).order_by(events.c.id)}

    async def _retrieve(self, sender_id: str, fetch_events_from_all_sessions: bool) -> DialogueStateTracker | None:
        """Rasa's: the tracker from the latest session's events (or all of them), None when there are none."""
        with self.session_scope() as session:
            stored = session.execute(self._events[fetch_events_from_all_sessions], {"sender_id": sender_id}).scalars()
            events = [json.loads(data) for data in stored]
        if self.domain and events:
            return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        return None

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Rasa's ``SQLTrackerStore.save``: the tracker's events not stored yet, as the same rows."""
        await self.stream_events(tracker)
        with self.session_scope() as session:
            rows = [_event_row(tracker.sender_id, event) for event in self._additional_events(session, tracker)]
            if rows:
                session.execute(self.SQLEvent.__table__.insert(), rows)
            session.commit()

    def _additional_events(self, session: Session, tracker: DialogueStateTracker) -> Iterator:
        """Rasa's: the events after as many as the latest session has stored."""
        stored = session.execute(self._stored_in_session, {"sender_id": tracker.sender_id}).scalar()
        return itertools.islice(tracker.events, stored, len(tracker.events))


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


class FallbackRedisLockStore(RedisLockStore):
    """Rasa's Redis lock store with each change of a lock one Redis transaction, and an in-process lock for a
    turn that finds Redis unreachable.

    Rasa's own store reads a lock, changes it and writes it back: two instances issuing tickets at the same
    moment both got the same one and handled one conversation at once (a turn then went missing from the
    tracker), and a ticket released meanwhile could drop another's. Turns go on being answered while Redis is
    away; only the order of one conversation's messages sent to two Rasa instances at once is not guaranteed
    until it is back. Any ``key_prefix`` is kept as given (Rasa's own store drops one that is not
    alphanumeric, such as ``hcc:``)."""

    def __init__(self, endpoint_config: EndpointConfig) -> None:
        options = dict(endpoint_config.kwargs)
        prefix = options.pop("key_prefix", None)
        super().__init__(host=endpoint_config.url or "localhost", **options)
        if prefix:
            self.key_prefix = prefix
        self._local = InMemoryLockStore()

    @asynccontextmanager
    async def lock(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME,
                   wait_time_in_seconds: float = 1) -> AsyncIterator[TicketLock]:
        try:
            ticket = self.issue_ticket(conversation_id, lock_lifetime)
        except LockError as error:
            if not isinstance(error.__context__, redis.RedisError):
                raise
            log.warning("Redis lock store unavailable (%s): this turn is locked in this process only",
                        type(error.__context__).__name__)
            async with self._local.lock(conversation_id, lock_lifetime, wait_time_in_seconds) as local:
                yield local
            return
        try:
            yield await self._acquire_lock(conversation_id, ticket, wait_time_in_seconds)
        finally:
            self._release(conversation_id, ticket)

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        try:
            return self._change(conversation_id, lambda lock: lock.issue_ticket(lock_lifetime), create=True)
        except Exception as error:
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error

    def update_lock(self, conversation_id: str) -> None:
        self._change(conversation_id, lambda lock: lock.remove_expired_tickets())

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        self._change(conversation_id, lambda lock: lock.remove_ticket_for(ticket_number), drop_when_empty=True)

    def _change(self, conversation_id: str, change: Callable[[TicketLock], Any], *,
                create: bool = False, drop_when_empty: bool = False) -> Any:
        """Apply ``change`` to the stored lock under WATCH, retried if another instance wrote it meanwhile."""
        key = self.key_prefix + conversation_id

        def attempt(pipe: redis.client.Pipeline) -> Any:
            stored = pipe.get(key)
            pipe.multi()
            if stored is None and not create:
                return None
            lock = TicketLock.from_dict(json.loads(stored)) if stored else TicketLock(conversation_id)
            result = change(lock)
            if drop_when_empty and not lock.is_someone_waiting():
                pipe.delete(key)
            else:
                pipe.set(key, lock.dumps())
            return result

        return self.red.transaction(attempt, key, value_from_callable=True)

    def _release(self, conversation_id: str, ticket: int) -> None:
        """Give the ticket back; Redis lost meanwhile must not cost the turn its answer (the ticket expires)."""
        try:
            self.cleanup(conversation_id, ticket)
        except redis.RedisError as error:
            log.warning("lock of a turn not released, Redis unavailable: %s", type(error).__name__)
