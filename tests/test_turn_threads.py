"""A citizen's turn runs its blocking calls in a few threads of its own (bot/turn_threads.py)."""
from __future__ import annotations

import asyncio
import threading
import time

import anyio
import pytest

from bot import turn_threads
from bot.settings import get_settings


@pytest.fixture
def threads(monkeypatch):
    def configure(value: str) -> None:
        monkeypatch.setenv("HCC_TURN_THREADS", value)
        get_settings.cache_clear()

    yield configure
    get_settings.cache_clear()


def test_at_most_the_configured_number_run_at_once_and_every_call_returns(threads):
    threads("2")
    running, most, lock = 0, 0, threading.Lock()

    def work(number: int) -> int:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.02)
        with lock:
            running -= 1
        return number * 10

    async def turns() -> list[int]:
        return await asyncio.gather(*(turn_threads.run(work, number) for number in range(8)))

    assert asyncio.run(turns()) == [number * 10 for number in range(8)]
    assert most == 2
    assert asyncio.run(turns()) == [number * 10 for number in range(8)]  # a new event loop gets its own pool


def test_a_busy_starlette_pool_does_not_hold_up_a_turn(threads):
    threads("1")
    release = threading.Event()

    async def scenario() -> str:
        anyio.to_thread.current_default_thread_limiter().total_tokens = 1
        admin = asyncio.ensure_future(anyio.to_thread.run_sync(release.wait, 10))  # an import holding Starlette's only thread
        await asyncio.sleep(0.05)
        answer = await asyncio.wait_for(turn_threads.run(lambda: "trả lời"), timeout=2)
        release.set()
        await admin
        return answer

    assert asyncio.run(scenario()) == "trả lời"


def test_the_setting_is_read_from_the_environment_and_at_least_one(threads):
    threads("0")
    assert get_settings().turn_threads == 1
    threads("6")
    assert get_settings().turn_threads == 6
