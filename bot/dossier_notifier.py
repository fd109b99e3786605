"""The gateway's dossier notifications: a sync job polling the dossier adapter for status changes, and a worker
sending the outbox on each citizen's channel (at least once; the stored copy is written once)."""
from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import AsyncIterator

from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool

from actions.dossiers import DossierSource, dossier_source
from bot.background import tasks_running
from bot import delivery
from bot.console import citizen
from bot.settings import get_settings
from knowledge_base import dossier_notifications as outbox
from knowledge_base import dossier_subscriptions
from knowledge_base.db import session_factory, transaction
from knowledge_base.models import Message
from knowledge_base.office_time import utc_naive

log = logging.getLogger(__name__)

# A writer's transaction may commit a while after the updated_at it set: each poll looks back this far again
# (seeing a change twice is harmless, the subscription knows the status it last told).
OVERLAP = timedelta(minutes=5)


def sync_once(source: DossierSource, since: datetime | None) -> datetime | None:
    """Queue notifications for what changed at the adapter since ``since``; the ``since`` of the next poll.

    With no cursor yet (a fresh start) it looks back to the oldest active subscription, so nothing a stopped
    gateway missed is lost; with no subscription it asks the adapter nothing."""
    started = utc_naive()
    if since is None:
        with session_factory()() as session:
            since = dossier_subscriptions.oldest_active(session)
        if since is None:
            return None
    changes = source.changed_since(since)
    with transaction() as session:
        queued = outbox.record_changes(session, changes)
    if queued:
        log.info("dossier sync: %d status changes, %d notifications queued", len(changes), queued)
    return started - OVERLAP


def _claim(notification_id: int) -> tuple[outbox.Claimed, dict] | None:
    with transaction() as session:
        claimed = outbox.claim(session, notification_id)
        if claimed is None:
            return None
        return claimed, delivery.outbound(session.get(Message, claimed.message_id))


def _due() -> list[int]:
    with session_factory()() as session:
        return outbox.due(session)


def _mark_sent(notification_id: int) -> None:
    with transaction() as session:
        outbox.mark_sent(session, notification_id)


def _mark_failed(notification_id: int, error: str) -> bool:
    with transaction() as session:
        return outbox.mark_failed(session, notification_id, error)


async def send_due(app: Starlette) -> int:
    """One pass over the due notifications: each is stored in its conversation, pushed, then marked; how many were sent."""
    sent = 0
    for notification_id in await run_in_threadpool(_due):
        taken = await run_in_threadpool(_claim, notification_id)
        if taken is None:  # another process has it, or it is no longer pending
            continue
        claimed, message = taken
        try:
            ok, error = await citizen.send(app, claimed.channel, claimed.sender, [message]), "kênh không nhận tin"
        except Exception as failure:  # noqa: BLE001 - any channel failure is a retry, never a lost notification
            ok, error = False, type(failure).__name__
        if ok:
            await run_in_threadpool(_mark_sent, notification_id)
            sent += 1
        elif await run_in_threadpool(_mark_failed, notification_id, error):
            log.error("dossier notification %d to a %s citizen failed %d times; given up", notification_id,
                      claimed.channel, claimed.attempts)
        else:
            log.warning("dossier notification %d to a %s citizen not delivered (%s); will retry",
                        notification_id, claimed.channel, error)
    return sent


async def _every(seconds: float, step, name: str) -> None:
    while True:
        await asyncio.sleep(seconds)
        try:
            await step()
        except SQLAlchemyError as error:
            log.warning("%s skipped, database unavailable: %s", name, type(error).__name__)
        except Exception:  # noqa: BLE001 - the loop must survive anything one round meets
            log.exception("%s failed", name)


@asynccontextmanager
async def running(app: Starlette) -> AsyncIterator[None]:
    """The sync job (every HCC_DOSSIER_SYNC_SECONDS; 0: off) and the sender (every HCC_NOTIFY_TICK_SECONDS)."""
    settings = get_settings()
    cursor: list[datetime | None] = [None]

    async def sync() -> None:
        cursor[0] = await run_in_threadpool(sync_once, dossier_source(), cursor[0])

    async def send() -> None:
        await send_due(app)

    loops = [_every(settings.notify_tick_seconds, send, "dossier notifications")]
    if settings.dossier_sync_seconds > 0:
        loops.append(_every(settings.dossier_sync_seconds, sync, "dossier sync"))
    async with tasks_running(*loops):
        yield
