"""The knowledge base's PostgreSQL pool tests a connection before lending it only after it sat idle."""
from __future__ import annotations

import time
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from conftest import _postgres_base_url
from knowledge_base.db import make_engine
from shared_storage import end_connections

pytestmark = pytest.mark.postgres


@pytest.fixture
def pool():
    name = f"hcc_test_{uuid.uuid4().hex[:12]}"
    base = _postgres_base_url()
    engine = make_engine(f"{base}{'&' if '?' in base else '?'}application_name={name}")
    with engine.connect() as connection:  # one connection, now back in the pool
        connection.execute(text("SELECT 1"))
    yield engine, name
    engine.dispose()


def test_a_connection_dropped_while_idle_is_replaced_before_anyone_gets_it(pool):
    engine, name = pool
    assert end_connections(_postgres_base_url(), name) == 1
    time.sleep(1.2)  # longer than the pool lets a connection sit without a test
    with engine.connect() as connection:
        assert connection.execute(text("SELECT 2")).scalar() == 2


def test_a_connection_just_returned_is_lent_without_a_round_trip_and_a_drop_costs_one_transaction(pool):
    engine, name = pool
    assert end_connections(_postgres_base_url(), name) == 1
    with pytest.raises(OperationalError) as failed:  # not tested before lending: no ping while busy
        with engine.connect() as connection:
            connection.execute(text("SELECT 2"))
    assert failed.value.connection_invalidated
    with engine.connect() as connection:  # the pool was discarded: a new connection
        assert connection.execute(text("SELECT 3")).scalar() == 3
