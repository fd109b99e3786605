"""Engine, sessions and schema migrations for SQLite (default) and PostgreSQL."""
from __future__ import annotations

import math
import threading
import time
import warnings
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from bot.settings import get_settings

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

# Rasa pins SQLAlchemy 1.4; our code is 2.0-style, so the 2.0 move warnings are noise here.
try:
    from sqlalchemy.exc import MovedIn20Warning

    warnings.filterwarnings("ignore", category=MovedIn20Warning)
except ImportError:  # pragma: no cover - SQLAlchemy 2 has no such warning
    pass


def make_engine(url: str | None = None) -> Engine:
    """An engine for ``url`` (default: the settings'); SQLite gets its folder, WAL and foreign keys."""
    url = url or get_settings().resolved_database_url
    if url.startswith("sqlite:///") and not url.endswith(":memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    if url.startswith("sqlite"):
        # A pool even for SQLite files: opening, setting pragmas and closing a connection per
        # transaction cost ~3 ms (p95 ~30 ms) of every turn; in-memory databases keep their default.
        pool = {} if url.endswith(":memory:") or url == "sqlite://" else {"poolclass": QueuePool, "pool_size": 5, "max_overflow": 10}
        engine = create_engine(url, future=True, connect_args={"check_same_thread": False, "timeout": 30}, **pool)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_engine(url, future=True)
    ping_when_idle(engine)
    return engine


def ping_when_idle(engine: Engine, idle_seconds: float = 1.0) -> None:
    """Test a pooled connection before lending it only when it has sat unused for ``idle_seconds``.

    Pinging every checkout (``pool_pre_ping``) cost a round trip per transaction, several per citizen's
    turn. A connection idle that briefly was working a moment ago; if the database restarted meanwhile, the
    statement fails, SQLAlchemy discards the whole pool, and the next transaction connects anew."""

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection, record) -> None:
        record.info["returned"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _lent(dbapi_connection, record, _proxy) -> None:
        if time.monotonic() - record.info.get("returned", math.inf) < idle_seconds:
            return
        try:
            cursor = dbapi_connection.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
        except engine.dialect.dbapi.Error as error:
            raise DisconnectionError("pooled connection dropped") from error  # the pool connects anew


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision: all of it, or when a step fails, none of it."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            # pysqlite starts transactions only before data changes, so CREATE TABLE ran outside one: a
            # first start cut short left tables without their revision, and every later start failed on them.
            # IMMEDIATE: a second process starting at the same moment waits, then finds the schema done.
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


@lru_cache(maxsize=4)
def _factory(url: str) -> sessionmaker:
    engine = make_engine(url)
    migrate(engine)
    return sessionmaker(engine, future=True, expire_on_commit=False)


_first_use = threading.Lock()


def session_factory(url: str | None = None) -> sessionmaker:
    """The process's session factory for ``url``; the schema is migrated on first use."""
    with _first_use:  # Alembic's context is process-global: two threads must not migrate at once
        return _factory(url or get_settings().resolved_database_url)


@contextmanager
def transaction(url: str | None = None) -> Iterator[Session]:
    """A session whose work is committed together, or not at all."""
    with session_factory(url)() as session, session.begin():
        yield session
