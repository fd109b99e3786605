"""Parts of a turn, each beside what it replaced, measured in the same run (CPU ms unless said).

The figures behind the load section's list of changes: RulePolicy's rule lookup (nlu/rule_lookup.py) against
Rasa's, reading events back (nlu/event_types.py) against Rasa's walk over Event subclasses, one instance's
tracker store (bot/rasa_memory_store.py) against Rasa's in-memory store (both reading events the cheaper way), a full garbage collection in a
process holding the model with and without the freeze (knowledge_base/heap.py), and the gateway's storage
calls with 32 turns in flight on Starlette's 40 threads and on the turn threads (bot/turn_threads.py); where
PostgreSQL and Redis run, several instances' stores against Rasa's own (bot/rasa_resilient_stores.py) and a
knowledge-base transaction whose connection is tested before lending against ours (knowledge_base/db.py).
Needs a trained model (`hcc train`).

    .venv/bin/python bench/turn_parts.py
"""
from __future__ import annotations

import asyncio
import gc
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))
sys.path.insert(0, str(PROJECT_ROOT / "tests"))  # the throw-away PostgreSQL schema and Redis prefix of the tests
os.environ["HCC_DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp()}/parts.db"  # the storage part's own database

from nlu.training import latest_model, load_agent, prepare_rasa  # noqa: E402


def cpu_ms(work: Callable[[], object], repeat: int) -> float:
    """Best of three: CPU milliseconds per call of ``work``."""
    return both_clocks(work, repeat)[0]


def row(name: str, before: float, after: float, unit: str = "ms") -> None:
    print(f"{name:<52} {before:9.3f} {after:9.3f} {unit}")


def conversation(turns: int) -> list:
    from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered

    events = [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")]
    parse = {"text": "le phi lam ho chieu bn", "intent": {"name": "ask_fee", "confidence": 0.9}, "entities": [],
             "intent_ranking": [{"name": "ask_fee", "confidence": 0.9}] * 10}
    for _ in range(turns):
        events += [UserUttered(parse["text"], parse["intent"], [], parse), SlotSet("procedure_code", "1.001193"),
                   ActionExecuted("action_answer_procedure"),
                   BotUttered("Lệ phí: 200.000 đồng. " * 10, {"buttons": [{"title": "Xem đầy đủ", "payload": "/x"}]}),
                   ActionExecuted("action_listen")]
    return events


def rule_lookup(agent) -> None:
    from rasa.core.policies.rule_policy import RULES, RulePolicy
    from rasa.shared.core.generator import TrainingDataGenerator
    from rasa.shared.importers.importer import TrainingDataImporter

    from nlu import rule_lookup as ours

    (policy,) = [node._component for node in agent.processor.graph_runner._instantiated_nodes.values()
                 if isinstance(node._component, RulePolicy)]
    importer = TrainingDataImporter.load_from_config(str(PROJECT_ROOT / "config.yml"), str(PROJECT_ROOT / "domain.yml"),
                                                     [str(PROJECT_ROOT / "data")])
    domain = importer.get_domain()
    states = [policy._prediction_states(prior, domain, False, rule_only_data=policy._get_rule_only_data())
              for tracker in TrainingDataGenerator(importer.get_stories(), domain, augmentation_factor=0).generate()
              for prior, _ in tracker.generate_all_prior_trackers()]
    lookup = policy.lookup[RULES]
    rasa = cpu_ms(lambda: [ours._rasa_possible_keys(policy, lookup, s) for s in states], 3) / len(states)
    mine = cpu_ms(lambda: [ours.possible_keys(policy, lookup, s) for s in states], 3) / len(states)
    row(f"rule lookup ({len(states)} conversation states)", rasa, mine)


def event_read_back() -> None:
    from rasa.shared.core.events import Event, deserialise_events

    from nlu import event_types

    stored = [event.as_dict() for event in conversation(8)]
    Event.resolve_by_type = staticmethod(event_types._walk)
    rasa = cpu_ms(lambda: deserialise_events(stored), 100)
    event_types.install()
    row(f"read back {len(stored)} events", rasa, cpu_ms(lambda: deserialise_events(stored), 100))


def tracker_stores(domain) -> None:
    from rasa.core.tracker_store import InMemoryTrackerStore
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.rasa_memory_store import ExpiringInMemoryTrackerStore

    for turns in (3, 8):
        tracker = DialogueStateTracker.from_events("bench", conversation(turns), domain.slots)
        per_turn = []
        for store in (InMemoryTrackerStore(domain), ExpiringInMemoryTrackerStore(domain)):
            per_turn.append(cpu_ms(lambda: asyncio.run(_save_and_read(store, tracker, 200)), 1) / 200)
        row(f"tracker store save + read, {turns}-turn conversation", *per_turn)


async def _save_and_read(store, tracker, times: int) -> None:
    for _ in range(times):
        await store.save(tracker)
        await store.retrieve(tracker.sender_id)


def full_collection() -> None:
    gc.unfreeze()
    started = time.perf_counter()
    gc.collect()
    before = (time.perf_counter() - started) * 1000
    gc.freeze()
    started = time.perf_counter()
    gc.collect()
    row("full garbage collection, model loaded (wall ms)", before, (time.perf_counter() - started) * 1000)


def storage_under_load(in_flight: int = 32, seconds: float = 5.0) -> None:
    import anyio
    import uvloop
    from starlette.concurrency import run_in_threadpool

    from bot import router, turn_threads

    async def turns(run) -> list[float]:
        latencies: list[float] = []
        stop = time.monotonic() + seconds

        async def citizen(number: int) -> None:
            while time.monotonic() < stop:
                started = time.perf_counter()
                await run(router._store_inbound, "widget", f"bench-{number:010d}", "xin chào", f"m{len(latencies)}")
                await asyncio.sleep(0.008)  # Rasa answering
                await run(router._store_outbound, "widget", f"bench-{number:010d}", "bot", [{"text": "chào"}])
                latencies.append((time.perf_counter() - started) * 1000 - 8)

        anyio.to_thread.current_default_thread_limiter().total_tokens = 40
        await asyncio.gather(*(citizen(number) for number in range(in_flight)))
        return sorted(latencies)

    p95 = []
    for run in (run_in_threadpool, turn_threads.run):
        latencies = uvloop.run(turns(run))
        p95.append(latencies[int(0.95 * (len(latencies) - 1))])
    row(f"storing a turn, {in_flight} in flight, p95 (wall ms)", *p95)


def both_clocks(work: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Best of three: CPU and wall milliseconds per call of ``work`` (a round trip costs wall, little CPU)."""
    best = (float("inf"), float("inf"))
    for _ in range(3):
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(repeat):
            work()
        best = min(best, ((time.process_time() - cpu) / repeat * 1000, (time.perf_counter() - wall) / repeat * 1000))
    return best


def rows(name: str, before: tuple[float, float], after: tuple[float, float]) -> None:
    """A CPU row and its wall row."""
    row(name, before[0], after[0])
    row("  same, wall ms", before[1], after[1])


def shared_storage(domain) -> None:
    """Several instances' stores on PostgreSQL and Redis (where these run): Rasa's own against ours."""
    import redis
    from sqlalchemy import create_engine

    from shared_storage import BENCH_POSTGRES_URL as postgres, BENCH_REDIS_URL as redis_url, throwaway

    try:
        engine = create_engine(postgres, future=True)
        engine.connect().close()
        engine.dispose()
        redis.Redis.from_url(redis_url).ping()
    except Exception as error:  # noqa: BLE001 — the part is skipped, and says why
        print(f"(PostgreSQL or Redis not reachable, shared storage parts skipped: {type(error).__name__})")
        return
    with throwaway(postgres, redis_url) as (url, prefix):
        _tracker_stores_on_postgres(domain, url)
        _redis_locks(redis_url, prefix)
        _knowledge_base_transactions(url)


def _tracker_stores_on_postgres(domain, url: str) -> None:
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.rasa_resilient_stores import ResilientSQLTrackerStore
    from bot.rasa_stores import tracker_store

    options = {key: value for key, value in tracker_store(url).items() if key != "type"}
    turn = conversation(1)[3:]
    figures = []
    for store in (SQLTrackerStore(domain, **options), ResilientSQLTrackerStore(domain, **options)):
        senders = [f"bench-{type(store).__name__}-{n}" for n in range(20)]
        for sender in senders:  # a conversation of three turns each
            asyncio.run(store.save(DialogueStateTracker.from_events(sender, conversation(3), domain.slots)))

        async def one_turn_each() -> None:
            for sender in senders:
                tracker = await store.retrieve(sender)
                for event in turn:
                    tracker.update(event)
                await store.save(tracker)

        figures.append(tuple(ms / len(senders) for ms in both_clocks(lambda: asyncio.run(one_turn_each()), 3)))
        store.engine.dispose()
    rows("tracker store on PostgreSQL: read + save a turn", *figures)


def _redis_locks(redis_url: str, prefix: str) -> None:
    from rasa.core.lock_store import LockStore, RedisLockStore
    from rasa.utils.endpoints import EndpointConfig

    from bot.rasa_stores import lock_store

    config = lock_store(redis_url, prefix, 3.0)
    rasa = RedisLockStore(host=config["url"], port=config["port"], db=config["db"], password=config.get("password"),
                          key_prefix="hccparts")  # Rasa's drops a prefix that is not alphanumeric
    ours = LockStore.create(EndpointConfig.from_dict(config))

    async def turn_locked(store) -> None:
        async with store.lock("citizen", 60, 0.01):
            pass

    rows("a turn's conversation lock in Redis", *(both_clocks(lambda: asyncio.run(turn_locked(store)), 200)
                                                  for store in (rasa, ours)))


def _knowledge_base_transactions(url: str) -> None:
    from sqlalchemy import create_engine, text

    from knowledge_base.db import make_engine

    def transaction(engine) -> None:
        with engine.begin() as connection:
            connection.execute(text("SELECT 1"))

    engines = [create_engine(url, future=True, pool_pre_ping=True), make_engine(url)]
    rows("knowledge base transaction (tested before lending)",
         *(both_clocks(lambda: transaction(engine), 300) for engine in engines))
    for engine in engines:
        engine.dispose()


def main() -> None:
    prepare_rasa()
    model = latest_model()
    if model is None:
        sys.exit("Chưa có mô hình: chạy `hcc train` trước.")
    agent = load_agent(model)
    print(f"{'part of a turn':<52} {'before':>9} {'after':>9}")
    rule_lookup(agent)
    event_read_back()
    tracker_stores(agent.domain)
    full_collection()
    storage_under_load()
    shared_storage(agent.domain)


if __name__ == "__main__":
    main()
