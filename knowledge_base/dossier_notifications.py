"""The outbox of dossier status notifications: one row per subscription and status change, sent by the gateway.

A change is numbered per subscription and (subscription, number) is unique, so however many processes
notice it, it is recorded once; delivery is retried with backoff until it is sent or gives up."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.settings import get_settings
from knowledge_base import conversations
from knowledge_base.dossier_labels import DELIVERY_LABELS, STATUS_LABELS
from knowledge_base.insert_once import insert_once
from knowledge_base.models import DossierNotification, DossierSubscription, Message
from knowledge_base.office_time import office_hours_text, utc_naive

STATES = ("pending", "sent", "failed", "cancelled")
FINAL_STATUSES = ("da_tra_ket_qua", "tu_choi")  # nothing follows: the subscription ends with its message
UNSUBSCRIBE_PAYLOAD = "/unsubscribe"
UNSUBSCRIBE_BUTTON = {"title": "Ngừng theo dõi", "payload": UNSUBSCRIBE_PAYLOAD}
BATCH = 500  # tracking codes per IN (...) query


@dataclass(frozen=True)
class DossierChange:
    """A dossier's status as the adapter reports it now, with what the message needs to say."""

    tracking_code: str
    status: str
    result_delivery: str | None = None  # quay | buu_chinh | truc_tuyen
    place: str | None = None  # where the counter is (the procedure's address), when known
    changed_at: datetime | None = None  # UTC, when the adapter knows it: a reading older than the subscriber's news is ignored


@dataclass(frozen=True)
class Claimed:
    id: int
    channel: str
    sender: str
    message_id: int
    attempts: int


def _collect_text(change: DossierChange) -> str:
    settings = get_settings()
    how = DELIVERY_LABELS.get(change.result_delivery or "")
    if change.result_delivery == "quay":
        where = f" ({change.place})" if change.place else ""
        return (f"Cách nhận kết quả: {how}{where}, giờ làm việc {office_hours_text()}. Anh/chị mang theo giấy "
                f"tiếp nhận và hẹn trả kết quả cùng căn cước công dân.")
    if change.result_delivery == "buu_chinh":
        return f"Cách nhận kết quả: {how}; bưu điện sẽ chuyển đến địa chỉ anh/chị đã đăng ký, anh/chị chú ý điện thoại."
    if change.result_delivery == "truc_tuyen":
        return f"Cách nhận kết quả: {how}: anh/chị đăng nhập Cổng dịch vụ công, mục Tra cứu hồ sơ, để tải kết quả."
    return f"Anh/chị liên hệ bộ phận một cửa hoặc gọi đường dây nóng {settings.hotline} để biết cách nhận kết quả."


def notification_text(change: DossierChange) -> str:
    """What the subscriber reads: the new status and, once there is a result, where and how to collect it."""
    hotline = get_settings().hotline
    lines = [f"Hồ sơ {change.tracking_code} vừa chuyển sang trạng thái: {STATUS_LABELS.get(change.status, change.status)}."]
    if change.status == "da_co_ket_qua":
        lines.append(_collect_text(change))
    elif change.status == "cho_bo_sung":
        lines.append(f"Anh/chị vui lòng bổ sung hồ sơ theo hướng dẫn của bộ phận một cửa; cần hỗ trợ, gọi {hotline}.")
    elif change.status == "tu_choi":
        lines.append(f"Anh/chị liên hệ bộ phận một cửa hoặc gọi {hotline} để biết lý do.")
    if change.status in FINAL_STATUSES:
        lines.append("Đây là thông báo cuối cùng về hồ sơ này.")
    else:
        lines.append("Nhắn /huy để ngừng nhận thông báo về hồ sơ này.")
    return "\n".join(lines)


def record_changes(session: Session, changes: Iterable[DossierChange]) -> int:
    """Queue a notification for each active subscriber whose dossier's status differs from what they last knew; how many."""
    latest = {change.tracking_code: change for change in changes}
    codes, queued = list(latest), 0
    for start in range(0, len(codes), BATCH):
        subscriptions = session.scalars(select(DossierSubscription).where(
            DossierSubscription.tracking_code.in_(codes[start:start + BATCH]), DossierSubscription.active.is_(True),
        ).order_by(DossierSubscription.id)).all()
        for subscription in subscriptions:
            change = latest[subscription.tracking_code]
            stale = change.changed_at is not None and change.changed_at <= subscription.last_status_at
            if change.status != subscription.last_status and not stale:
                queued += _queue(session, subscription, change)
    session.flush()
    return queued


def _queue(session: Session, subscription: DossierSubscription, change: DossierChange) -> int:
    number, now = subscription.changes + 1, utc_naive()
    inserted = insert_once(session, DossierNotification, {
        "subscription_id": subscription.id, "change": number, "status": change.status, "text": notification_text(change),
        "state": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now,
    }, ["subscription_id", "change"])
    # Conditional, so a process that read the subscription before another one recorded this change moves nothing.
    values = {"changes": number, "last_status": change.status, "last_status_at": change.changed_at or now}
    if change.status in FINAL_STATUSES:
        values.update(active=False, ended_at=now)
    session.execute(update(DossierSubscription).where(
        DossierSubscription.id == subscription.id, DossierSubscription.changes == number - 1,
    ).values(**values).execution_options(synchronize_session=False))
    session.expire(subscription)
    return int(inserted)


def backoff(attempts: int) -> timedelta:
    """The wait before try ``attempts + 1``: doubling from HCC_NOTIFY_RETRY_SECONDS, at most an hour."""
    return timedelta(seconds=min(3600.0, get_settings().notify_retry_seconds * 2 ** max(0, attempts - 1)))


def claim(session: Session, notification_id: int, now: datetime | None = None) -> Claimed | None:
    """Take one due notification for a send, storing its message in the conversation once; None when not due.

    Claiming pushes its next try out by the backoff: a process that dies mid-send leaves it to be retried then."""
    now = now or utc_naive()
    row = session.get(DossierNotification, notification_id)
    if row is None or row.state != "pending" or row.next_attempt_at > now:
        return None
    taken = session.execute(update(DossierNotification).where(
        DossierNotification.id == row.id, DossierNotification.state == "pending",
        DossierNotification.attempts == row.attempts,
    ).values(attempts=row.attempts + 1, next_attempt_at=now + backoff(row.attempts + 1))
        .execution_options(synchronize_session=False)).rowcount
    if taken != 1:
        return None
    session.refresh(row)
    subscription = session.get(DossierSubscription, row.subscription_id)
    conversation = conversations.get_or_create(session, subscription.channel, subscription.sender_id)
    if row.message_id is None:
        payload = {"buttons": [UNSUBSCRIBE_BUTTON]} if subscription.active else None
        message = conversations.record_message(session, conversation, "out", "bot", row.text, payload=payload,
                                               external_id=f"notify:{row.id}")
        if message is None:  # stored by an earlier try whose id was not kept
            message = session.scalars(select(Message).where(
                Message.conversation_id == conversation.id,
                Message.external_id == f"notify:{row.id}")).one()
        row.message_id = message.id
    session.flush()
    return Claimed(row.id, subscription.channel, subscription.sender_id, row.message_id, row.attempts)


def mark_sent(session: Session, notification_id: int) -> None:
    session.execute(update(DossierNotification).where(
        DossierNotification.id == notification_id, DossierNotification.state == "pending",
    ).values(state="sent", sent_at=utc_naive(), last_error=None).execution_options(synchronize_session=False))


def mark_failed(session: Session, notification_id: int, error: str) -> bool:
    """Record a failed send; True when it gives up (HCC_NOTIFY_ATTEMPTS tries made), else it waits for its retry."""
    row = session.get(DossierNotification, notification_id)
    if row is None or row.state != "pending":
        return False
    row.last_error = error[:200]
    if row.attempts >= get_settings().notify_attempts:
        row.state = "failed"
    session.flush()
    return row.state == "failed"


def due(session: Session, now: datetime | None = None, limit: int = 50) -> list[int]:
    """Ids of pending notifications whose try is due, oldest first."""
    return list(session.scalars(select(DossierNotification.id).where(
        DossierNotification.state == "pending", DossierNotification.next_attempt_at <= (now or utc_naive()),
    ).order_by(DossierNotification.id).limit(limit)).all())


def counts(session: Session, since: datetime | None = None) -> dict[str, int]:
    """Notifications by state (pending, sent, failed, cancelled), created since ``since`` (UTC) when given: for the reports."""
    query = select(DossierNotification.state, func.count()).group_by(DossierNotification.state)
    if since is not None:
        query = query.where(DossierNotification.created_at >= since)
    found = dict(session.execute(query).all())
    return {state: int(found.get(state, 0)) for state in STATES}
