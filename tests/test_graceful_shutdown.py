"""Shutting the gateway down: requests in flight still get their answer; `hcc run` bounds the wait and logs masked."""
from __future__ import annotations

import asyncio
import logging
import threading

import httpx
import uvicorn
from click.testing import CliRunner

from bot import logs, router
from bot.app import create_app
from bot.cli import main
from loopback_server import serving
from stack import free_port
from test_logs import captured  # noqa: F401 (fixture: restores the logging set-up)


def test_hcc_run_serves_with_masked_logs_and_a_bounded_graceful_shutdown(captured, hcc_env, monkeypatch):
    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.append(options))
    monkeypatch.setenv("HCC_SHUTDOWN_TIMEOUT", "7")
    monkeypatch.setenv("HCC_LOG_LEVEL", "warning")
    result = CliRunner().invoke(main, ["run", "--gateway-only"])
    assert result.exit_code == 0, result.output
    (options,) = calls
    assert options["timeout_graceful_shutdown"] == 7 and options["log_level"] == "warning"
    assert options["log_config"] is None and options["ws"] == "wsproto"  # uvicorn's records reach our handler
    (handler,) = logging.getLogger().handlers
    assert any(isinstance(f, logs.MaskingFilter) for f in handler.filters)
    assert logging.getLogger().level == logging.WARNING


def test_a_request_in_flight_when_the_gateway_stops_still_gets_its_answer(hcc_env, monkeypatch):
    started = threading.Event()

    async def slow(channel, sender, text, **kwargs):
        started.set()
        await asyncio.sleep(1.0)
        return router.Turn([{"recipient_id": sender, "text": "Đã trả lời"}], 1)

    monkeypatch.setattr(router, "handle", slow)
    port = free_port()
    answers = []
    with serving(create_app(), port, timeout_graceful_shutdown=5) as gateway:
        request = threading.Thread(target=lambda: answers.append(httpx.post(
            f"http://127.0.0.1:{port}/webhooks/rest/webhook", json={"sender": "s", "message": "xin chào"}, timeout=10)))
        request.start()
        assert started.wait(5)
        assert gateway.stop()  # as on SIGTERM: it waits for the request in flight, then stops
        request.join(timeout=10)
    (answer,) = answers
    assert answer.status_code == 200 and answer.json() == [{"recipient_id": "s", "text": "Đã trả lời"}]

