"""Citizens' subscriptions to a dossier's status: started after the phone check, stopped by /huy."""
from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from knowledge_base.insert_once import insert_once
from knowledge_base.models import DossierNotification, DossierSubscription
from knowledge_base.office_time import utc_naive


def find(session: Session, tracking_code: str, channel: str, sender: str) -> DossierSubscription | None:
    return session.scalars(select(DossierSubscription).where(
        DossierSubscription.tracking_code == tracking_code, DossierSubscription.channel == channel,
        DossierSubscription.sender_id == sender)).first()


def subscribe(session: Session, tracking_code: str, channel: str, sender: str, status: str) -> bool:
    """Notify ``sender`` of the dossier's changes after ``status`` (its status now); False when already subscribed.

    The caller has checked the applicant's phone digits: nothing here can tell a guess from the applicant."""
    now = utc_naive()
    values = {"tracking_code": tracking_code, "channel": channel, "sender_id": sender, "active": True,
              "last_status": status, "last_status_at": now, "changes": 0, "created_at": now}
    if insert_once(session, DossierSubscription, values, ["tracking_code", "channel", "sender_id"]):
        return True
    row = find(session, tracking_code, channel, sender)
    if row is None or row.active:
        return False
    row.active, row.last_status, row.last_status_at, row.created_at, row.ended_at = True, status, now, now, None
    session.flush()
    return True


def unsubscribe(session: Session, channel: str, sender: str, tracking_code: str | None = None) -> list[str]:
    """Stop the sender's subscriptions (one dossier's, or all); the codes stopped. Unsent notifications are cancelled."""
    query = select(DossierSubscription).where(
        DossierSubscription.channel == channel, DossierSubscription.sender_id == sender, DossierSubscription.active.is_(True))
    if tracking_code:
        query = query.where(DossierSubscription.tracking_code == tracking_code)
    rows = session.scalars(query.order_by(DossierSubscription.id)).all()
    now = utc_naive()
    for row in rows:
        row.active, row.ended_at = False, now
    if rows:
        session.execute(update(DossierNotification).where(
            DossierNotification.subscription_id.in_([row.id for row in rows]), DossierNotification.state == "pending",
        ).values(state="cancelled").execution_options(synchronize_session=False))
    session.flush()
    return [row.tracking_code for row in rows]


def active_codes(session: Session, channel: str | None = None, sender: str | None = None) -> list[str]:
    """Tracking codes with an active subscription (of one sender when given), sorted."""
    query = select(DossierSubscription.tracking_code).where(DossierSubscription.active.is_(True)).distinct()
    if channel is not None and sender is not None:
        query = query.where(DossierSubscription.channel == channel, DossierSubscription.sender_id == sender)
    return sorted(session.scalars(query).all())


def oldest_active(session: Session):
    """When the oldest active subscription started (UTC), or None: no change before it matters."""
    return session.scalar(select(DossierSubscription.created_at).where(DossierSubscription.active.is_(True))
                          .order_by(DossierSubscription.created_at).limit(1))
