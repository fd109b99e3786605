"""Failed staff logins per username and per client address, kept in the audit log (shared by every instance)."""
from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.settings import get_settings
from knowledge_base.models import AuditLog
from knowledge_base.office_time import utc_naive

FAILED, SUCCEEDED = "login_failed", "login"
ACTOR_MAX, TARGET_MAX = 64, 128  # audit_log.actor, audit_log.target


def record(session: Session, username: str, client: str | None, ok: bool, now: datetime | None = None) -> None:
    session.add(AuditLog(actor=username[:ACTOR_MAX] or "?", action=SUCCEEDED if ok else FAILED,
                         target=(client or "")[:TARGET_MAX] or None, created_at=utc_naive(now)))
    session.flush()


def retry_after_seconds(session: Session, username: str, client: str | None, now: datetime | None = None) -> int:
    """Seconds until this username may try again from this address; 0 when it may now."""
    settings = get_settings()
    now = utc_naive(now)
    window = timedelta(minutes=settings.login_window_minutes)
    since = now - window
    # A successful login clears the username's count (the address's stays: it may be guessing many names).
    last_ok = session.scalar(select(func.max(AuditLog.created_at)).where(
        AuditLog.action == SUCCEEDED, AuditLog.actor == username[:ACTOR_MAX]))
    by_name = AuditLog.actor == username[:ACTOR_MAX]
    waits = [_wait(session, by_name, max(since, last_ok) if last_ok else since, settings.login_limit, window, now)]
    if client:
        waits.append(_wait(session, AuditLog.target == client[:TARGET_MAX], since, settings.login_ip_limit, window, now))
    return max(waits)


def _wait(session: Session, which, since: datetime, limit: int, window: timedelta, now: datetime) -> int:
    if limit <= 0:
        return 0
    recent = (select(AuditLog.created_at).where(which, AuditLog.action == FAILED, AuditLog.created_at > since)
              .order_by(AuditLog.created_at.desc()))
    # The limit-th most recent failure is the one whose expiry brings the count below the limit.
    freed_by = session.scalars(recent.offset(limit - 1).limit(1)).first()
    if freed_by is None:
        return 0
    return max(1, math.ceil((freed_by + window - now).total_seconds()))
