"""Calls to the Telegram Bot API, retried on network errors and on 429 (after the delay Telegram advises)."""
from __future__ import annotations

import asyncio
import logging
import warnings
from datetime import timedelta
from typing import Awaitable, Callable, TypeVar

from telegram.error import BadRequest, NetworkError, RetryAfter

from bot.settings import get_settings

log = logging.getLogger(__name__)
T = TypeVar("T")


def advised_delay(error: RetryAfter) -> float:
    """Seconds Telegram asked us to wait (PTB gives an int or a timedelta depending on PTB_TIMEDELTA)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PTB warns about the int form; either form is fine here
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


async def with_retries(call: Callable[[], Awaitable[T]], what: str = "call",
                       sleep: Callable[[float], Awaitable[object]] = asyncio.sleep) -> T:
    """``await call()``, tried up to ``telegram_send_attempts`` times; the last error is raised.

    A bad request (BadRequest, a NetworkError subclass in PTB) is the caller's fault and is not retried;
    a 429 asking to wait longer than ``telegram_max_retry_after`` is not retried either."""
    settings = get_settings()
    attempts = max(1, settings.telegram_send_attempts)
    for attempt in range(1, attempts + 1):
        try:
            return await call()
        except RetryAfter as error:
            delay = advised_delay(error)
            if attempt == attempts or delay > settings.telegram_max_retry_after:
                raise
            log.warning("Telegram %s: flood control, retrying in %.1f s (attempt %d/%d)", what, delay, attempt, attempts)
        except BadRequest:
            raise
        except NetworkError as error:
            if attempt == attempts:
                raise
            delay = min(2.0 ** (attempt - 1), 8.0)  # 1, 2, 4, 8 s: a short outage, not a hammering
            log.warning("Telegram %s: %s, retrying in %.1f s (attempt %d/%d)", what, error, delay, attempt, attempts)
        await sleep(delay)
    raise AssertionError("unreachable")  # the loop returns or raises
