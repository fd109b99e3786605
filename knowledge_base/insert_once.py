"""Insert a row unless a unique key already holds it: race-safe on SQLite and PostgreSQL alike."""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Iterable

from sqlalchemy import Table, bindparam, text
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import TextClause

# Not a SAVEPOINT + IntegrityError retry: with pysqlite a SAVEPOINT opened before any write starts the
# transaction itself, and releasing it commits, so the caller's transaction would no longer be atomic.
# Not the dialects' insert().on_conflict_do_nothing() either: SQLAlchemy 1.4 cannot cache those, and compiled
# every widget and Telegram message again (half a millisecond of the gateway's CPU a turn). Both databases
# take this one statement as written.


def insert_once(session: Session, model: type, values: dict[str, Any], keys: Iterable[str]) -> int | None:
    """INSERT … ON CONFLICT (keys) DO NOTHING: the new row's primary key, or None when the key held a row."""
    session.flush()  # pending ORM rows go first, so they are in the same order as the caller wrote them
    table: Table = model.__table__  # type: ignore[attr-defined]
    row = {**_python_defaults(table, values), **values}
    return session.execute(_statement(table, tuple(sorted(row)), tuple(keys)), row).scalar()


@lru_cache(maxsize=None)
def _statement(table: Table, columns: tuple[str, ...], keys: tuple[str, ...]) -> TextClause:
    (primary_key,) = table.primary_key.columns
    statement = text(
        f'INSERT INTO {_quoted(table.name)} ({", ".join(map(_quoted, columns))}) '
        f'VALUES ({", ".join(":" + name for name in columns)}) '
        f'ON CONFLICT ({", ".join(map(_quoted, keys))}) DO NOTHING RETURNING {_quoted(primary_key.name)}'
    )
    # Typed parameters: JSON is serialised and dates converted as the ORM would.
    return statement.bindparams(*(bindparam(name, type_=table.c[name].type) for name in columns))


def _quoted(name: str) -> str:
    return f'"{name}"'


def _python_defaults(table: Table, values: dict[str, Any]) -> dict[str, Any]:
    """The column defaults SQLAlchemy's own insert() would have filled in for the columns not given."""
    defaults = {}
    for column in table.columns:
        default = column.default
        if column.name in values or default is None:
            continue
        if default.is_scalar:
            defaults[column.name] = default.arg
        elif default.is_callable:
            defaults[column.name] = default.arg(None)  # SQLAlchemy wraps argument-less callables to take a context
    return defaults
