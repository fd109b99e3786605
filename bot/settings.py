"""The one settings object of Trợ lý HCC, read from the environment (prefix ``HCC_``)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///var/hcc.db"
    redis_url: str | None = None
    shared_data_dir: Path = PROJECT_ROOT.parent / "shared" / "data"
    var_dir: Path = PROJECT_ROOT / "var"
    host: str = "127.0.0.1"
    port: int = 8000
    rasa_port: int = 5005
    action_port: int = 5055
    rasa_timeout: float = 10.0  # seconds a turn may take in Rasa (actions included) before the apology
    max_message_chars: int = 2000
    max_body_bytes: int = 16384
    hotline: str = "1900 558 826"
    center_name: str = "Trung tâm Phục vụ hành chính công tỉnh Quảng Ninh"
    phone_hash_salt: str | None = None  # None: a random salt kept in var_dir
    office_hours: str = "mon-fri 07:30-11:30,13:30-17:00"  # groups joined by ";", e.g. "; sat 07:30-11:30"
    timezone: str = "Asia/Ho_Chi_Minh"
    complaint_response_days: int = 10  # working days to answer a complaint
    lookup_limit: int = 5  # failed dossier lookups allowed per sender …
    lookup_window_minutes: int = 10  # … within this many minutes
    average_handle_minutes: int = 5  # one hotline conversation, for the expected wait

    @property
    def sqlite_path(self) -> Path | None:
        if not self.database_url.startswith("sqlite:///"):
            return None
        return Path(self.database_url.removeprefix("sqlite:///"))

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def action_url(self) -> str:
        return f"http://127.0.0.1:{self.action_port}"

    @property
    def resolved_database_url(self) -> str:
        """SQLite paths are relative to the project root, so every process finds one file."""
        path = self.sqlite_path
        if path is None or path.is_absolute() or str(path) == ":memory:":
            return self.database_url
        return f"sqlite:///{PROJECT_ROOT / path}"


def from_environ() -> Settings:
    return Settings(
        database_url=_env("HCC_DATABASE_URL", Settings.database_url),
        redis_url=_env("HCC_REDIS_URL"),
        shared_data_dir=Path(_env("HCC_SHARED_DATA", str(Settings.shared_data_dir))),
        var_dir=Path(_env("HCC_VAR_DIR", str(Settings.var_dir))),
        host=_env("HCC_HOST", Settings.host),
        port=int(_env("HCC_PORT", str(Settings.port))),
        rasa_port=int(_env("HCC_RASA_PORT", str(Settings.rasa_port))),
        action_port=int(_env("HCC_ACTION_PORT", str(Settings.action_port))),
        rasa_timeout=float(_env("HCC_RASA_TIMEOUT", str(Settings.rasa_timeout))),
        max_message_chars=int(_env("HCC_MAX_MESSAGE_CHARS", str(Settings.max_message_chars))),
        max_body_bytes=int(_env("HCC_MAX_BODY_BYTES", str(Settings.max_body_bytes))),
        hotline=_env("HCC_HOTLINE", Settings.hotline),
        center_name=_env("HCC_CENTER_NAME", Settings.center_name),
        phone_hash_salt=_env("HCC_PHONE_SALT"),
        office_hours=_env("HCC_OFFICE_HOURS", Settings.office_hours),
        timezone=_env("HCC_TIMEZONE", Settings.timezone),
        complaint_response_days=int(_env("HCC_COMPLAINT_RESPONSE_DAYS", str(Settings.complaint_response_days))),
        lookup_limit=int(_env("HCC_LOOKUP_LIMIT", str(Settings.lookup_limit))),
        lookup_window_minutes=int(_env("HCC_LOOKUP_WINDOW_MINUTES", str(Settings.lookup_window_minutes))),
        average_handle_minutes=int(_env("HCC_AVERAGE_HANDLE_MINUTES", str(Settings.average_handle_minutes))),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return from_environ()
