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
    hotline: str = "1900 558 826"
    center_name: str = "Trung tâm Phục vụ hành chính công tỉnh Quảng Ninh"
    phone_hash_salt: str | None = None  # None: a random salt kept in var_dir

    @property
    def sqlite_path(self) -> Path | None:
        if not self.database_url.startswith("sqlite:///"):
            return None
        return Path(self.database_url.removeprefix("sqlite:///"))

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
        hotline=_env("HCC_HOTLINE", Settings.hotline),
        center_name=_env("HCC_CENTER_NAME", Settings.center_name),
        phone_hash_salt=_env("HCC_PHONE_SALT"),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return from_environ()
