"""What `hcc run` starts: the generated endpoints file, the supervisor of the child processes, no model."""
from __future__ import annotations

import sys
import time

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine

from bot.cli import main
from bot.processes import Child, Supervisor, child_env, write_endpoints
from bot.settings import PROJECT_ROOT, get_settings
from shared_storage import rasa_events

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]


def test_rasa_reads_the_action_server_port_from_the_generated_endpoints(hcc_env, monkeypatch):
    from rasa.core.utils import AvailableEndpoints

    monkeypatch.setenv("HCC_ACTION_PORT", "6123")
    get_settings.cache_clear()
    path = write_endpoints(get_settings())
    assert path.is_relative_to(get_settings().var_dir)
    assert AvailableEndpoints.read_endpoints(str(path)).action.url == "http://127.0.0.1:6123/webhook"


def test_children_find_our_packages_and_bind_to_loopback(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    env = child_env()
    assert env["PYTHONPATH"].split(":") == [str(PROJECT_ROOT), "/elsewhere"]
    assert env["SANIC_HOST"] == "127.0.0.1" and env["RASA_TELEMETRY_ENABLED"] == "false"


def test_the_supervisor_restarts_a_child_that_dies_and_stops_them_all():
    supervisor = Supervisor([Child("one", SLEEPER), Child("two", SLEEPER)])
    supervisor.start()
    try:
        first = supervisor.children[0].process
        first.kill()
        first.wait()
        deadline = time.monotonic() + 10
        while supervisor.children[0].process is first and time.monotonic() < deadline:
            time.sleep(0.1)
        assert supervisor.children[0].process is not first and supervisor.children[0].process.poll() is None
        assert supervisor.children[0].restarts == 1
    finally:
        supervisor.stop()
    assert all(child.process.poll() is not None for child in supervisor.children)


def test_without_a_model_hcc_run_tells_the_user_to_train(hcc_env, monkeypatch):
    import nlu.training

    monkeypatch.setattr(nlu.training, "latest_model", lambda *args: None)
    result = CliRunner().invoke(main, ["run"])
    assert result.exit_code == 2
    assert "hcc train" in result.output and "Chưa có mô hình" in result.output


@pytest.mark.parametrize("name, value", [("HCC_HOLIDAYS", "30/4"), ("HCC_OFFICE_HOURS", "mon-fri 8h-17h")])
def test_hcc_run_refuses_bad_office_days_before_starting_anything(hcc_env, monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(main, ["run"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2 and f"{name} không hợp lệ" in result.output


def test_on_postgresql_and_redis_rasa_shares_trackers_and_locks(tmp_path, monkeypatch):
    """Several Rasa instances continue each other's conversations: SQL tracker store, Redis lock store."""
    import asyncio
    import os

    from rasa.core.lock_store import LockStore, RedisLockStore
    from rasa.core.tracker_store import SQLTrackerStore, TrackerStore
    from rasa.core.utils import AvailableEndpoints
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import UserUttered

    postgres, redis_url = os.environ.get("HCC_TEST_POSTGRES_URL"), os.environ.get("HCC_TEST_REDIS_URL")
    if not (postgres and redis_url):
        if os.environ.get("CI") == "true":
            pytest.fail("needs HCC_TEST_POSTGRES_URL and HCC_TEST_REDIS_URL (set by .ci/run)")
        pytest.skip("needs HCC_TEST_POSTGRES_URL and HCC_TEST_REDIS_URL")
    monkeypatch.setenv("HCC_DATABASE_URL", postgres)
    monkeypatch.setenv("HCC_REDIS_URL", redis_url)
    monkeypatch.setenv("HCC_VAR_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        endpoints = AvailableEndpoints.read_endpoints(str(write_endpoints(get_settings())))
    finally:
        get_settings.cache_clear()
    domain = Domain.load(str(PROJECT_ROOT / "domain.yml"))
    store = TrackerStore.create(endpoints.tracker_store, domain)
    locks = LockStore.create(endpoints.lock_store)
    assert isinstance(store, SQLTrackerStore) and isinstance(locks, RedisLockStore)

    async def round_trip() -> list[str]:
        sender = f"test-{time.time_ns()}"
        tracker = await store.get_or_create_tracker(sender)
        tracker.update(UserUttered("xin chào"))
        await store.save(tracker)
        again = await TrackerStore.create(endpoints.tracker_store, domain).retrieve(sender)  # another instance
        return [e.text for e in again.events if isinstance(e, UserUttered)]

    assert asyncio.run(round_trip()) == ["xin chào"]


@pytest.mark.parametrize("database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_rasa_keeps_its_events_in_the_schema_of_the_database_url(hcc_env):
    """Deployments sharing one PostgreSQL database in separate schemas (``options=-csearch_path=...``) keep
    Rasa's conversations apart: the ``events`` table is created and written in the configured schema only."""
    import asyncio

    from rasa.core.tracker_store import TrackerStore
    from rasa.core.utils import AvailableEndpoints
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import UserUttered

    endpoints = AvailableEndpoints.read_endpoints(str(write_endpoints(get_settings())))
    store = TrackerStore.create(endpoints.tracker_store, Domain.load(str(PROJECT_ROOT / "domain.yml")))
    sender = f"schema-{time.time_ns()}"

    async def save() -> None:
        tracker = await store.get_or_create_tracker(sender)
        tracker.update(UserUttered("xin chào"))
        await store.save(tracker)

    asyncio.run(save())
    store.engine.dispose()
    engine = create_engine(hcc_env, future=True)
    try:
        with engine.connect() as connection:
            in_schema, in_public = rasa_events(connection, sender)
    finally:
        engine.dispose()
    assert in_schema > 0 and in_public == 0, (in_schema, in_public)
