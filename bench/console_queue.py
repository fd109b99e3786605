"""The operator console's queue queries on a database holding years of conversations.

Every gateway checks the queue's signature every second (HCC_CONSOLE_TICK_SECONDS), and every console reads
the queue at each change of it. Both must cost the same whether the database holds a week of messages or
years of them. This fills a throw-away PostgreSQL schema and a throw-away SQLite file with N messages,
N/20 conversations and N/40 closed handoffs (24 open), then prints each query's mean time next to the
queue query this project used before (the latest citizen message of every conversation, grouped).

    .venv/bin/python bench/console_queue.py [--messages 2000000]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))
sys.path.insert(0, str(PROJECT_ROOT / "tests"))  # the throw-away PostgreSQL schema of the tests

from sqlalchemy import func, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from knowledge_base import operator_desk  # noqa: E402
from knowledge_base.db import make_engine, migrate, session_factory  # noqa: E402
from knowledge_base.models import Conversation, Handoff, Message  # noqa: E402
from shared_storage import BENCH_POSTGRES_URL, BENCH_REDIS_URL, throwaway  # noqa: E402

OPEN_HANDOFFS = 24


def grouped_queue(session: Session) -> list:
    """The queue query before: every conversation's latest citizen message, grouped, then joined."""
    last_in = (select(Message.conversation_id, func.max(Message.id).label("message_id"))
               .where(Message.author == "citizen").group_by(Message.conversation_id).subquery())
    return session.execute(
        select(Handoff, Conversation.channel, Message.text)
        .join(Conversation, Conversation.id == Handoff.conversation_id)
        .outerjoin(last_in, last_in.c.conversation_id == Handoff.conversation_id)
        .outerjoin(Message, Message.id == last_in.c.message_id)
        .where(Handoff.status.in_(("waiting", "active"))).order_by(Handoff.id)
    ).all()


def fill(url: str, messages: int) -> None:
    """``messages`` messages (every other one a citizen's) over messages/20 conversations, and the handoffs."""
    engine = make_engine(url)
    migrate(engine)
    conversations, handoffs = max(messages // 20, OPEN_HANDOFFS), max(messages // 40, OPEN_HANDOFFS)
    numbers = ("generate_series(1, {n}) AS g(x)" if engine.dialect.name == "postgresql"
               else "(WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < {n}) SELECT x FROM s) AS g")
    now = "CURRENT_TIMESTAMP"
    with engine.begin() as connection:
        connection.execute(text(
            f"INSERT INTO conversations (channel, sender_id, state, created_at, last_message_at) "
            f"SELECT 'widget', 'citizen-' || x, 'bot', {now}, {now} FROM {numbers.format(n=conversations)}"))
        connection.execute(text(
            f"INSERT INTO messages (conversation_id, direction, author, text, created_at) "
            f"SELECT 1 + x % {conversations}, CASE WHEN x % 2 = 0 THEN 'in' ELSE 'out' END, "
            f"CASE WHEN x % 2 = 0 THEN 'citizen' ELSE 'bot' END, 'tin nhắn ' || x, {now} "
            f"FROM {numbers.format(n=messages)}"))
        connection.execute(text(
            f"INSERT INTO handoffs (conversation_id, reason, status, created_at) "
            f"SELECT 1 + x * {conversations // handoffs} % {conversations}, 'request', "
            f"CASE WHEN x <= {OPEN_HANDOFFS - 4} THEN 'waiting' WHEN x <= {OPEN_HANDOFFS} THEN 'active' ELSE 'closed' END, "
            f"{now} FROM {numbers.format(n=handoffs)}"))
        if engine.dialect.name == "postgresql":  # as autovacuum would have; SQLite never gathers statistics here
            connection.execute(text("ANALYZE"))
    engine.dispose()


def mean_ms(url: str, query: Callable[[Session], object], rounds: int = 20) -> float:
    with session_factory(url)() as session:
        query(session)  # warm: plans, caches
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            query(session)
            times.append((time.perf_counter() - started) * 1000)
    return statistics.mean(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2_000_000)
    args = parser.parse_args()
    queries = {"queue (before: grouped)": grouped_queue, "queue": operator_desk.queue,
               "queue signature (every second)": operator_desk.queue_signature}
    print(f"{args.messages:,} messages, {args.messages // 20:,} conversations, {args.messages // 40:,} handoffs "
          f"({OPEN_HANDOFFS} open); mean ms per query\n")
    print(f"| database | {' | '.join(queries)} |")
    print(f"| --- |{' --- |' * len(queries)}")
    with tempfile.TemporaryDirectory(prefix="hcc-queue-") as tmp, \
            throwaway(BENCH_POSTGRES_URL, BENCH_REDIS_URL) as (postgres, _):
        for name, url in (("SQLite", f"sqlite:///{tmp}/queue.db"), ("PostgreSQL", postgres)):
            started = time.perf_counter()
            fill(url, args.messages)
            figures = [mean_ms(url, query) for query in queries.values()]
            print(f"| {name} (filled in {time.perf_counter() - started:.0f} s) | "
                  f"{' | '.join(f'{ms:.1f}' for ms in figures)} |", flush=True)


if __name__ == "__main__":
    main()
