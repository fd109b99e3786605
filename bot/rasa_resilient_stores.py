"""Rasa's SQL tracker store and Redis lock store, made to outlive a PostgreSQL or Redis outage.

Loaded by the Rasa process from the endpoints `hcc run` writes (bot/rasa_stores.py); imports Rasa, so the
gateway never imports it."""
from __future__ import annotations

import json
import logging
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Callable

import redis
import sqlalchemy as sa
from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, InMemoryLockStore, LockError, RedisLockStore
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.utils.endpoints import EndpointConfig

log = logging.getLogger(__name__)


class PingingSQLTrackerStore(SQLTrackerStore):
    """Rasa's SQL tracker store whose pool tests a connection before lending it.

    Without it the first turn after a database restart meets a dead pooled connection; Rasa then answers from
    an empty tracker (the conversation starts over) and never stores that turn."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        url = self.engine.url
        self.engine.dispose()
        self.engine = sa.create_engine(url, pool_pre_ping=True, **create_engine_kwargs(url))
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)


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
