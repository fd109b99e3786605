"""Alembic environment: runs on the connection handed in by ``knowledge_base.db.migrate``."""
from __future__ import annotations

from alembic import context

from knowledge_base.models import Base

target_metadata = Base.metadata


def run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        from knowledge_base.db import make_engine

        with make_engine().begin() as connection:
            _run_on(connection)
    else:
        _run_on(connection)


def _run_on(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


run()
