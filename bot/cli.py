"""`hcc`: the one command of Trợ lý HCC."""
from __future__ import annotations

import os
import warnings

import click

# Rasa must never phone home from a government server, and its SQLAlchemy 1.4 warnings are noise.
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
warnings.filterwarnings("ignore", message=".*MovedIn20Warning.*")

from knowledge_base.cli import kb  # noqa: E402
from nlu.cli import nlu, train  # noqa: E402


@click.group()
def main() -> None:
    """Trợ lý HCC — trợ lý ảo của Trung tâm Phục vụ hành chính công."""


main.add_command(kb)
main.add_command(nlu)
main.add_command(train)


@main.command()
@click.option("--host", default=None, help="Địa chỉ lắng nghe (mặc định HCC_HOST hoặc 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Cổng (mặc định HCC_PORT hoặc 8000).")
def run(host: str | None, port: int | None) -> None:
    """Chạy cổng giao tiếp (gateway) tại http://HOST:PORT."""
    import uvicorn

    from bot.app import create_app
    from bot.settings import get_settings

    settings = get_settings()
    # Rasa pins websockets 10, which uvicorn's default WebSocket protocol no longer supports.
    uvicorn.run(create_app(), host=host or settings.host, port=port or settings.port, log_level="info", ws="wsproto")


if __name__ == "__main__":
    main()
