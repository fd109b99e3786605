"""Server-side staff sessions: a random cookie token (stored only hashed) and its CSRF token."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.settings import get_settings
from knowledge_base.models import StaffSession, StaffUser
from knowledge_base.office_time import utc_naive

# Sliding expiry is written at most this often, so reading pages does not write on every request.
TOUCH_EVERY = timedelta(minutes=1)
CLIENT_MAX = 64  # staff_sessions.client


@dataclass(frozen=True)
class Opened:
    token: str  # goes into the cookie, never stored
    csrf_token: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(session: Session, staff: StaffUser, client: str | None, now: datetime | None = None) -> Opened:
    now = utc_naive(now)
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    session.add(StaffSession(token_hash=_digest(token), staff_id=staff.id, csrf_token=csrf,
                             client=(client or "")[:CLIENT_MAX] or None, created_at=now, last_seen_at=now,
                             expires_at=now + timedelta(hours=get_settings().session_hours)))
    # Expired rows of anyone are swept here: logins are rare enough, and no job is needed.
    session.execute(delete(StaffSession).where(StaffSession.expires_at <= now))
    session.flush()
    return Opened(token, csrf)


def resolve(session: Session, token: str | None, now: datetime | None = None) -> tuple[StaffUser, StaffSession] | None:
    """The active account and live session the cookie token names, extending the session; else None."""
    if not token:
        return None
    now = utc_naive(now)
    row = session.execute(
        select(StaffSession, StaffUser).join(StaffUser, StaffUser.id == StaffSession.staff_id)
        .where(StaffSession.token_hash == _digest(token))
    ).first()
    if row is None:
        return None
    live, staff = row
    if live.expires_at <= now or not staff.active:
        return None
    if now - live.last_seen_at >= TOUCH_EVERY:
        live.last_seen_at = now
        live.expires_at = now + timedelta(hours=get_settings().session_hours)
        session.flush()
    return staff, live


def end(session: Session, token: str | None) -> bool:
    if not token:
        return False
    return session.execute(delete(StaffSession).where(StaffSession.token_hash == _digest(token))).rowcount > 0


def end_all(session: Session, staff_id: int) -> int:
    return session.execute(delete(StaffSession).where(StaffSession.staff_id == staff_id)).rowcount


def csrf_matches(live: StaffSession, presented: str | None) -> bool:
    return bool(presented) and secrets.compare_digest(live.csrf_token.encode(), presented.encode())
