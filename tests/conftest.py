"""Shared fixtures: the real data folder, and a database on SQLite or PostgreSQL."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.settings import get_settings


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
