"""Insert a row unless a unique key already holds it: race-safe on SQLite and PostgreSQL alike."""
from __future__ import annotations

from typing import Any, Iterable

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

# Not a SAVEPOINT + IntegrityError retry: with pysqlite a SAVEPOINT opened before any write starts the
# transaction itself, and releasing it commits, so the caller's transaction would no longer be atomic.
_DIALECT_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def insert_once(session: Session, model: type, values: dict[str, Any], keys: Iterable[str]) -> bool:
    """INSERT … ON CONFLICT (keys) DO NOTHING; True when the row was inserted."""
    session.flush()  # pending ORM rows go first, so they are in the same order as the caller wrote them
    insert = _DIALECT_INSERT[session.get_bind().dialect.name]
    statement = insert(model.__table__).values(**values).on_conflict_do_nothing(index_elements=list(keys))
    return session.execute(statement).rowcount == 1
