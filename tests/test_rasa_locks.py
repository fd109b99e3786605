"""Rasa's lock store across instances: tickets issued by several Rasa servers at once are each issued once."""
from __future__ import annotations

import threading
import uuid
from collections import deque


from shared_storage import clear_redis, required


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
        clear_redis(redis_url, prefix)


def test_the_lock_script_numbers_expires_and_releases_tickets_as_rasas_ticket_lock():
    import asyncio
    import time

    from rasa.core.lock import Ticket, TicketLock

    redis_url = required("HCC_TEST_REDIS_URL")
    prefix = f"hcc-test-{uuid.uuid4().hex[:12]}:"
    store, _ = _stores(redis_url, prefix)
    try:
        before = time.time()
        assert [store.issue_ticket("c", 60) for _ in range(3)] == [0, 1, 2]
        lock = store.get_lock("c")  # Rasa's own reader
        assert [t.number for t in lock.tickets] == [0, 1, 2] and lock.now_serving == 0 and lock.is_locked(1)
        assert all(before + 60 - 0.01 <= t.expires <= time.time() + 60 + 0.01 for t in lock.tickets)
        store.cleanup("c", 1)
        assert [t.number for t in store.get_lock("c").tickets] == [0, 2]
        store.cleanup("c", 0)
        assert store.get_lock("c").now_serving == 2
        store.cleanup("c", 2)
        assert store.get_lock("c") is None  # the last ticket takes the lock with it

        # An expired ticket is dropped, as TicketLock drops it, and numbering starts again after the live ones.
        assert store.issue_ticket("d", 0.05) == 0
        time.sleep(0.1)
        assert store.issue_ticket("d", 60) == 0
        store.update_lock("d")
        assert [t.number for t in store.get_lock("d").tickets] == [0]

        # A lock Rasa's own store wrote is read and extended.
        store.save_lock(TicketLock("e", deque([Ticket(4, time.time() + 60), Ticket(5, time.time() + 60)])))
        assert store.issue_ticket("e", 60) == 6

        async def two_turns() -> list[str]:
            order = []

            async def turn(name: str, hold: float) -> None:
                async with store.lock("f", 60, wait_time_in_seconds=0.02):
                    order.append(f"{name} in")
                    await asyncio.sleep(hold)
                    order.append(f"{name} out")

            first = asyncio.create_task(turn("first", 0.1))
            await asyncio.sleep(0.01)
            await turn("second", 0)
            await first
            return order

        assert asyncio.run(two_turns()) == ["first in", "first out", "second in", "second out"]
        assert store.get_lock("f") is None
    finally:
        clear_redis(redis_url, prefix)
