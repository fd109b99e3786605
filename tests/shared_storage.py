"""Stacks on shared storage for tests: a throw-away PostgreSQL schema and Redis key prefix, the demo data,
two staff accounts and a trained model (tests/test_instances.py, tests/test_faults_storage.py)."""
from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
import redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection

import stack as harness
from bot.settings import get_settings
from staff_helpers import make_staff

OPERATOR, ADMIN = "lan", "quantri"


def required(variable: str) -> str:
    """A test server's URL from the environment: skipped where unset on a user's clone, a failure under CI."""
    url = os.environ.get(variable)
    if not url:
        message = f"needs {variable} (set by .ci/run)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return url


# Where the benchmarks find PostgreSQL and Redis (the tests' own come from HCC_TEST_*_URL).
BENCH_POSTGRES_URL = os.environ.get("HCC_BENCH_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
BENCH_REDIS_URL = os.environ.get("HCC_BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")


@contextmanager
def throwaway(postgres: str, redis_url: str) -> Iterator[tuple[str, str]]:
    """(the URL of a new schema on ``postgres``, a new Redis key prefix), both removed afterwards."""
    schema, prefix = f"hcc_test_{uuid.uuid4().hex[:12]}", f"hcc-test-{uuid.uuid4().hex[:12]}:"
    admin = create_engine(postgres, future=True)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{postgres}{'&' if '?' in postgres else '?'}options=-csearch_path%3D{schema}", prefix
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
        clear_redis(redis_url, prefix)


def clear_redis(redis_url: str, prefix: str) -> None:
    """Delete the keys under ``prefix``."""
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


def end_connections(postgres: str, application_name: str) -> int:
    """End, from the server's side, the connections named ``application_name`` (as a database restart does)."""
    admin = create_engine(postgres, future=True)
    with admin.begin() as connection:
        ended = connection.execute(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                        "WHERE application_name = :name"), {"name": application_name}).scalar()
    admin.dispose()
    return ended


def rasa_events(connection: Connection, sender: str) -> tuple[int, int]:
    """Rows of Rasa's tracker store (``events``) of ``sender`` in the connection's own schema, and in ``public``."""
    counts = []
    for schema in (connection.execute(text("SELECT current_schema()")).scalar(), "public"):
        table = f'"{schema}".events'
        exists = connection.execute(text("SELECT to_regclass(:table)"), {"table": table}).scalar()
        counts.append(connection.execute(text(f"SELECT count(*) FROM {table} WHERE sender_id = :sender"),
                                         {"sender": sender}).scalar() if exists else 0)
    return counts[0], counts[1]


@contextmanager
def seeded(env: dict[str, str], workdir: Path) -> Iterator[Path]:
    """The demo data and staff ``lan`` (operator) and ``quantri`` (admin) in ``env``'s database; yields the model.

    This process's settings point at that database until the end, so tests can read what the stack stored."""
    from nlu.training import train

    try:
        with pytest.MonkeyPatch.context() as patch:
            for name in ("HCC_DATABASE_URL", "HCC_PHONE_SALT", "HCC_VAR_DIR"):
                patch.setenv(name, env[name])
            get_settings.cache_clear()
            harness.hcc(env, "kb", "demo")
            make_staff(OPERATOR, "operator", "Nguyễn Thị Lan")
            make_staff(ADMIN, "admin", "Quản trị thử")
            yield train(output=workdir / "models")
    finally:
        get_settings.cache_clear()
