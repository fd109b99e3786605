"""The gateway's logs: JSON lines with phone and ID-card numbers masked, uvicorn's access log and error traces too."""
from __future__ import annotations

import io
import json
import logging
from typing import Iterator

import httpx
import pytest
from starlette.testclient import TestClient

from bot import logs, router
from bot.app import create_app
from bot.settings import get_settings
from loopback_server import serving
from stack import free_port

PHONE, CCCD = "0912345678", "022090001234"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """``logs.configure`` writing to a buffer; the logging set-up of the test session restored afterwards."""
    root = logging.getLogger()
    saved_root = (list(root.handlers), root.level)
    saved = {name: (list(logging.getLogger(name).handlers), logging.getLogger(name).propagate, logging.getLogger(name).level)
             for name in logs.UVICORN_LOGGERS + logs.CHATTY_LOGGERS}
    buffer = io.StringIO()
    logs.configure("INFO", stream=buffer)
    yield buffer
    root.handlers[:], root.level = saved_root
    for name, (handlers, propagate, level) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:], logger.propagate, logger.level = handlers, propagate, level


def lines(buffer: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


@pytest.mark.parametrize("text, masked", [
    (f"gọi cho tôi số {PHONE} nhé", "gọi cho tôi số 09******78 nhé"),
    ("số +84 912 345 678.", "số 09******78."),
    ("máy bàn 0203.3835.123", "máy bàn 02*******23"),
    (f"CCCD {CCCD}, CMND 123456789", "CCCD 02********34, CMND 12*****89"),
])
def test_phone_and_id_numbers_are_masked(text, masked):
    assert logs.mask(text) == masked


@pytest.mark.parametrize("text", [
    "hồ sơ 000.00.04.H49-240315-0012",  # tracking codes are not personal: they stay readable
    "lệ phí 1.200.000 đồng, 15 ngày, năm 2024",
    "mã 12345678 và 1234567890",  # neither a phone (no valid prefix) nor an ID length
    "1234567890123",
])
def test_other_numbers_are_kept(text):
    assert logs.mask(text) == text


def test_records_are_json_lines_masked_in_message_args_and_trace(captured):
    log = logging.getLogger("bot.test")
    log.info("công dân %s để lại số %s", "Nguyễn Văn A", PHONE)
    try:
        raise ValueError(f"CCCD không hợp lệ: {CCCD}")
    except ValueError:
        log.exception("lỗi khi kiểm tra %s", PHONE)
    log.debug("not at INFO %s", PHONE)
    output = captured.getvalue()
    assert PHONE not in output and CCCD not in output
    first, second = lines(captured)
    assert first["level"] == "INFO" and first["logger"] == "bot.test"
    assert first["message"] == "công dân Nguyễn Văn A để lại số 09******78"  # Vietnamese kept as is, not \u escapes
    assert second["level"] == "ERROR" and second["message"] == "lỗi khi kiểm tra 09******78"
    assert "Traceback" in second["exc"] and "ValueError: CCCD không hợp lệ: 02********34" in second["exc"]


def test_uvicorn_access_log_goes_through_the_masked_handler(captured, hcc_env):
    port = free_port()
    with serving(create_app(), port, access_log=True):
        assert httpx.get(f"http://127.0.0.1:{port}/health?phone={PHONE}", timeout=10).status_code == 200
    access = [line for line in lines(captured) if line["logger"] == "uvicorn.access"]
    assert access and "/health?phone=09******78" in access[0]["message"]
    assert PHONE not in captured.getvalue()


def test_an_unexpected_error_gives_the_user_a_vietnamese_500_and_the_log_a_masked_trace(captured, hcc_env, monkeypatch):
    async def broken(*args, **kwargs):
        raise RuntimeError(f"hỏng khi xử lý {PHONE}")

    monkeypatch.setattr(router, "handle", broken)
    with TestClient(create_app(), raise_server_exceptions=False) as client:
        response = client.post("/webhooks/rest/webhook", json={"sender": "c-1", "message": f"số tôi là {PHONE}"})
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert "Xin lỗi" in error and get_settings().hotline in error
    assert "Traceback" not in response.text and "RuntimeError" not in response.text and PHONE not in response.text
    (record,) = [line for line in lines(captured) if line["logger"] == "bot.app"]
    assert record["message"] == "unhandled RuntimeError on POST /webhooks/rest/webhook"
    assert "RuntimeError: hỏng khi xử lý 09******78" in record["exc"] and PHONE not in captured.getvalue()
