"""Failed dossier lookups per sender, kept in the audit log so every instance sees the same count."""
from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.settings import get_settings
from knowledge_base.models import AuditLog
from knowledge_base.office_time import utc_naive

ACTION = "dossier_lookup_failed"
KEY_MAX = 64  # audit_log.actor; cutting merges keys, which only makes the limit stricter


def record_failure(session: Session, key: str, now: datetime | None = None) -> None:
    session.add(AuditLog(actor=key[:KEY_MAX], action=ACTION, created_at=utc_naive(now)))
    session.flush()


def blocked(session: Session, key: str, now: datetime | None = None) -> bool:
    """Whether ``key`` has used up its failed lookups (HCC_LOOKUP_LIMIT per HCC_LOOKUP_WINDOW_MINUTES)."""
    return retry_after_minutes(session, key, now) > 0


def retry_after_minutes(session: Session, key: str, now: datetime | None = None) -> int:
    """Whole minutes until ``key`` may look up again; 0 when it may now."""
    settings = get_settings()
    now = utc_naive(now)
    window = timedelta(minutes=settings.lookup_window_minutes)
    recent = (
        select(AuditLog.created_at)
        .where(AuditLog.actor == key[:KEY_MAX], AuditLog.action == ACTION, AuditLog.created_at > now - window)
        .order_by(AuditLog.created_at.desc())
    )
    # The limit-th most recent failure is the one whose expiry brings the count below the limit.
    freed_by = session.scalars(recent.offset(max(settings.lookup_limit - 1, 0)).limit(1)).first()
    if freed_by is None:
        return 0
    return max(1, math.ceil((freed_by + window - now).total_seconds() / 60))
