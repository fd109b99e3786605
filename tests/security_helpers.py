"""What the security tests share: the gateway's routes read from the app itself, and row counts of every table."""
from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from sqlalchemy import func, inspect, select
from starlette.routing import Route, WebSocketRoute

from bot.app import create_app
from bot.settings import get_settings
from knowledge_base.db import session_factory
from knowledge_base.models import Base

STATE_CHANGING = ("POST", "PUT", "PATCH", "DELETE")
# Staff-only parts of the gateway; anything else must be one of PUBLIC below, or the sweep fails until it is classified.
STAFF_PREFIXES = ("/console", "/admin", "/api/console", "/api/admin", "/api/auth", "/ws/console", "/ws/admin")
ADMIN_PREFIXES = ("/admin", "/api/admin", "/ws/admin")
# Open to anyone by design: the citizen channels, health, the widget's files, the login form and the console's static files.
PUBLIC = re.compile(r"^(/|/health|/ready|/widget\.js|/widget/\{name\}|/webhooks/[a-z]+(/[a-z]+)*|/ws/widget"
                    r"|/console/login|/admin/login|/console/static/\{name\}|/api/auth/login)$")
PARAM = re.compile(r"\{(\w+)(?::(\w+))?\}")


@dataclass(frozen=True)
class Endpoint:
    path: str  # the route's pattern, e.g. /api/console/tickets/{number}
    url: str  # a concrete URL for it
    methods: tuple[str, ...]  # HTTP methods (HEAD left out); () for a WebSocket
    websocket: bool

    @property
    def role(self) -> str | None:
        """The least role that may use it: None (public), "operator" or "admin"."""
        if PUBLIC.match(self.path):
            return None
        return "admin" if self.path.startswith(ADMIN_PREFIXES) else "operator"

    @property
    def page(self) -> bool:
        return not self.websocket and not self.path.startswith("/api/")


def _concrete(path: str) -> str:
    """Path parameters filled with plausible values (ints 1, names "x"; ".svg"/".csv" suffixes stay)."""
    return PARAM.sub(lambda match: "1" if match.group(2) in ("int", "float") else "x", path)


def endpoints() -> list[Endpoint]:
    """Every HTTP and WebSocket endpoint of ``bot.app.create_app()``, as the app declares them."""
    found = []
    for route in create_app().routes:
        if isinstance(route, WebSocketRoute):
            found.append(Endpoint(route.path, _concrete(route.path), (), True))
        elif isinstance(route, Route):
            methods = tuple(sorted(m for m in (route.methods or {"GET"}) if m != "HEAD"))
            found.append(Endpoint(route.path, _concrete(route.path), methods, False))
    return found


def unclassified() -> list[str]:
    """Routes neither public by design nor under a staff prefix: a new top-level path someone must classify."""
    return [e.path for e in endpoints() if not PUBLIC.match(e.path) and not e.path.startswith(STAFF_PREFIXES)]


def row_counts(url: str) -> dict[str, int]:
    """Rows per table of the schema that exist in the database at ``url``."""
    with session_factory(url)() as session:
        present = set(inspect(session.connection()).get_table_names())
        return {table.name: session.scalar(select(func.count()).select_from(table))
                for table in Base.metadata.sorted_tables if table.name in present}


@contextmanager
def module_env(workdir: Path, **env: str) -> Iterator[str]:
    """Settings pointed at a fresh SQLite database in ``workdir`` (plus ``env``) for a whole test module; yields its URL.

    The security sweeps send hundreds of requests; one database per module keeps them within seconds."""
    url = f"sqlite:///{workdir / 'hcc.db'}"
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {"HCC_DATABASE_URL": url, "HCC_VAR_DIR": str(workdir / "var"), **env}.items():
            patch.setenv(name, value)
        get_settings.cache_clear()
        try:
            yield url
        finally:
            get_settings.cache_clear()
    get_settings.cache_clear()
