"""The console's background work in each gateway process: heartbeats, grace-period requeue, queue changes, Redis relay."""
from __future__ import annotations

import asyncio
import logging
import time
from contextlib import asynccontextmanager
from typing import AsyncIterator

from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool

from bot.background import tasks_running
from bot.console import desk, hub, socket, views
from bot.settings import get_settings

log = logging.getLogger(__name__)


async def _tick(app: Starlette) -> None:
    settings = get_settings()
    # Often enough that a connected console never looks gone, however short the grace period.
    beat_every = max(0.5, settings.operator_grace_seconds / 4)
    last_beat, signature = 0.0, None
    while True:
        await asyncio.sleep(settings.console_tick_seconds)
        try:
            if socket.present and time.monotonic() - last_beat >= beat_every:
                await run_in_threadpool(views.heartbeat, list(socket.present))
                last_beat = time.monotonic()
            await desk.requeue_abandoned(app)
            # Handoffs also appear from the action server's process: the queue is watched, not only told.
            current = await run_in_threadpool(views.queue_signature)
            if current != signature:
                if signature is not None:
                    await hub.fan_out({"type": "queue"})
                signature = current
        except SQLAlchemyError as error:
            log.warning("console tick skipped, database unavailable: %s", type(error).__name__)
        except Exception:  # noqa: BLE001 - the loop must survive anything one tick meets
            log.exception("console tick failed")


async def _relay_forever() -> None:
    """Keep the Redis relay up: after losing Redis, subscribe again every ``redis_retry_seconds``."""
    lost = False  # one warning per outage, not one per try

    def subscribed() -> None:
        nonlocal lost
        if lost:
            log.info("console Redis relay resumed")
        lost = False

    while True:
        pause = get_settings().redis_retry_seconds
        try:
            await hub.relay(on_subscribed=subscribed)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - Redis away: events stay local until it is back
            if not lost:
                log.warning("console Redis relay stopped (%s); subscribing again every %.1f s", type(error).__name__, pause)
            lost = True
        await asyncio.sleep(pause)


@asynccontextmanager
async def running(app: Starlette) -> AsyncIterator[None]:
    """The console's background tasks for the gateway's lifetime."""
    loops = [_tick(app)] + ([_relay_forever()] if get_settings().redis_url else [])
    async with tasks_running(*loops):
        yield
