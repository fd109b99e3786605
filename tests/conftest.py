"""Shared fixtures: the real data folder, a database on SQLite or PostgreSQL, the whole stack, and headless Chromium."""
from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from bot.settings import get_settings
from knowledge_base.db import session_factory


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``: skipped where absent on a user's clone, a failure under CI."""
    path = get_settings().shared_data_dir
    if not (path / "catalogue").is_dir():
        message = f"real data folder {path} is absent (set HCC_SHARED_DATA)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def _postgres_base_url() -> str:
    url = os.environ.get("HCC_TEST_POSTGRES_URL")
    if not url:
        message = "PostgreSQL tests need HCC_TEST_POSTGRES_URL (set by .ci/run)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path) -> Iterator[str]:
    """A fresh empty database: a SQLite file, or a throw-away schema on the test PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hcc.db'}"
        return
    base = _postgres_base_url()
    schema = f"hcc_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, future=True)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def hcc_env(database_url, tmp_path, monkeypatch) -> Iterator[str]:
    """Point the settings (and so the CLI and the app) at ``database_url`` for one test."""
    monkeypatch.setenv("HCC_DATABASE_URL", database_url)
    monkeypatch.setenv("HCC_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    yield database_url
    get_settings.cache_clear()


@pytest.fixture
def session(hcc_env) -> Iterator[Session]:
    with session_factory(hcc_env)() as session:
        yield session


@pytest.fixture(scope="session")
def portal():
    """The province portal embedding the widget: a site on its own loopback origin, in the stack's HCC_WIDGET_ORIGINS."""
    from host_site import host_site

    with host_site() as site:
        yield site


@pytest.fixture(scope="session")
def stack(tmp_path_factory, portal):
    """The whole stack (`hcc run`: action server, Rasa, gateway) on free ports over a demo SQLite database."""
    import stack as harness
    from nlu.training import train

    workdir = tmp_path_factory.mktemp("stack")
    # The hotline is always staffed here (handoffs); the night path is tested on the actions directly.
    env = {**harness.stack_env(workdir), "HCC_OFFICE_HOURS": "mon-sun 00:00-23:59", "HCC_HOLIDAYS": "none", "HCC_WIDGET_ORIGINS": portal.origin}
    harness.hcc(env, "kb", "demo")
    model = train(output=workdir / "models")
    with harness.running(env, model, workdir) as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium (tests/browser.py), one per test module."""
    from browser import chromium  # only the browser tests need Playwright

    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser):
    """A fresh 1024×768 page of ``browser``."""
    from browser import new_page

    fresh = new_page(browser)
    yield fresh
    fresh.context.close()
