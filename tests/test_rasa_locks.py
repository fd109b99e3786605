"""Rasa's lock store across instances: tickets issued by several Rasa servers at once are each issued once."""
from __future__ import annotations

import threading
import uuid

import redis

from shared_storage import required


ISSUERS = 24  # per store; two stores stand for two Rasa instances


def _stores(redis_url: str, prefix: str):
    from rasa.core.lock_store import LockStore
    from rasa.utils.endpoints import EndpointConfig

    from bot.rasa_stores import lock_store

    config = EndpointConfig.from_dict(lock_store(redis_url, prefix, 3.0))
    return LockStore.create(config), LockStore.create(config)


def test_tickets_taken_at_the_same_moment_on_two_instances_are_all_different_and_all_released():
    redis_url = required("HCC_TEST_REDIS_URL")
    prefix = f"hcc-test-{uuid.uuid4().hex[:12]}:"
    a, b = _stores(redis_url, prefix)
    start, tickets, errors = threading.Barrier(2 * ISSUERS), [], []

    def issue(store) -> None:
        start.wait()
        try:
            tickets.append(store.issue_ticket("citizen"))
        except Exception as error:  # noqa: BLE001 — reported below
            errors.append(error)

    threads = [threading.Thread(target=issue, args=(store,)) for store in (a, b) for _ in range(ISSUERS)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert not errors
        assert len(tickets) == 2 * ISSUERS and len(set(tickets)) == len(tickets), sorted(tickets)
        # Released from both instances at once, every ticket goes and the lock with the last one.
        releasers = [threading.Thread(target=(a if i % 2 else b).cleanup, args=("citizen", t)) for i, t in enumerate(tickets)]
        for thread in releasers:
            thread.start()
        for thread in releasers:
            thread.join(timeout=30)
        assert a.get_lock("citizen") is None
    finally:
        client = redis.Redis.from_url(redis_url)
        keys = list(client.scan_iter(f"{prefix}*"))
        if keys:
            client.delete(*keys)
