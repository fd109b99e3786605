"""`hcc`: the one command of Trợ lý HCC."""
from __future__ import annotations

import os
import signal
import sys
import warnings
from pathlib import Path

import click

# Rasa must never phone home from a government server, and its SQLAlchemy 1.4 warnings are noise.
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
warnings.filterwarnings("ignore", message=".*MovedIn20Warning.*")

from knowledge_base.cli import kb  # noqa: E402
from nlu.cli import nlu, train  # noqa: E402
from bot.staff_cli import first_admin_hint, staff  # noqa: E402


@click.group()
def main() -> None:
    """Trợ lý HCC — trợ lý ảo của Trung tâm Phục vụ hành chính công."""


main.add_command(kb)
main.add_command(nlu)
main.add_command(train)
main.add_command(staff)


@main.command()
@click.option("--host", default=None, help="Địa chỉ lắng nghe (mặc định HCC_HOST hoặc 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Cổng (mặc định HCC_PORT hoặc 8000).")
@click.option("--model", "model_path", default=None, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Mô hình Rasa (mặc định: mô hình mới nhất trong models/).")
@click.option("--gateway-only", is_flag=True, help="Chỉ chạy cổng giao tiếp; Rasa và máy chủ hành động chạy riêng.")
def run(host: str | None, port: int | None, model_path: Path | None, gateway_only: bool) -> None:
    """Chạy trợ lý: máy chủ hành động, Rasa (127.0.0.1) và cổng giao tiếp tại http://HOST:PORT."""
    import uvicorn

    from bot import logs
    from bot.app import create_app
    from bot.processes import stack
    from bot.settings import get_settings
    from knowledge_base import office_time
    from nlu.training import latest_model

    settings = get_settings()
    logs.configure(settings.log_level)
    try:  # a typo here would otherwise surface only when a citizen asks for an operator
        office_time.parse_office_hours(settings.office_hours)
        office_time.parse_holidays(settings.holidays)
    except ValueError as error:
        click.echo(str(error), err=True)
        sys.exit(2)
    hint = first_admin_hint()
    if hint:
        click.echo(hint, err=True)
    supervisor = None
    if not gateway_only:
        model = model_path or latest_model()
        if model is None:
            click.echo("Chưa có mô hình hội thoại. Chạy `hcc train` trước (hoặc `make run`).", err=True)
            sys.exit(2)
        supervisor = stack(settings, model)
        # uvicorn re-raises SIGTERM after its graceful shutdown; as an exception it still lets us stop the children.
        signal.signal(signal.SIGTERM, _exit_on_signal)
        supervisor.start()
    try:
        # Rasa pins websockets 10, which uvicorn's default WebSocket protocol no longer supports. log_config=None:
        # uvicorn's records go through our masked handler. In-flight requests get shutdown_timeout to finish on
        # SIGTERM; the children are stopped only after that, since those requests still need Rasa.
        uvicorn.run(create_app(), host=host or settings.host, port=port or settings.port, ws="wsproto",
                    log_config=None, log_level=settings.log_level.lower(),
                    timeout_graceful_shutdown=settings.shutdown_timeout)
    finally:
        if supervisor is not None:
            supervisor.stop()


def _exit_on_signal(signum: int, _frame) -> None:
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    main()
