"""The hotline operator's desk: the live queue, take (one winner), transfer, internal notes, close, grace-period requeue.

Each state change starts with a conditional UPDATE on the handoff, so two operators acting at once are
decided by the database (a row lock on PostgreSQL, the write lock on SQLite): exactly one UPDATE matches."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.settings import get_settings
from knowledge_base import form_input
from knowledge_base.handoffs import REASONS
from knowledge_base.models import Conversation, Handoff, HandoffNote, Message, StaffUser
from knowledge_base.office_time import utc_naive

STAFF_ROLES = ("operator", "admin")
OUTCOMES = {
    "resolved": "Đã giải đáp",
    "ticket": "Đã ghi nhận phản ánh, chuyển xử lý",
    "callback": "Hẹn gọi lại",
    "no_reply": "Công dân không phản hồi",
    "other": "Khác",
}
NOTE_MAX = 2000
LAST_MESSAGE_MAX = 280  # characters of the citizen's last message shown in the queue


class DeskError(Exception):
    """A desk action that cannot be done; the message (Vietnamese) is for the operator."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class QueueItem:
    handoff_id: int
    conversation_id: int
    status: str  # waiting | active
    reason: str
    reason_label: str
    channel: str
    waiting_seconds: int  # since the escalation
    last_message: str  # the citizen's, shortened
    last_message_at: str | None
    operator_id: int | None
    operator_name: str | None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Held:
    """A handoff an operator holds after take/transfer, with what the citizen's channel needs."""

    handoff_id: int
    conversation_id: int
    channel: str
    sender: str
    operator_id: int
    operator_name: str


def _iso(moment: datetime | None) -> str | None:
    return moment.replace(tzinfo=timezone.utc).isoformat() if moment else None


def queue(session: Session, now: datetime | None = None) -> list[QueueItem]:
    """Waiting handoffs, oldest first, then the ones operators hold."""
    now = now or utc_naive()
    # Per open handoff, through the index on conversation_id: grouping every citizen message ever stored
    # took 160 ms on PostgreSQL and 600 on SQLite at two million messages, at every change of the queue.
    last_in = (select(func.max(Message.id)).where(Message.conversation_id == Handoff.conversation_id,
                                                 Message.author == "citizen")
               .correlate(Handoff).scalar_subquery())
    rows = session.execute(
        select(Handoff, Conversation.channel, Message.text, Message.created_at, StaffUser.full_name)
        .join(Conversation, Conversation.id == Handoff.conversation_id)
        .outerjoin(Message, Message.id == last_in)
        .outerjoin(StaffUser, StaffUser.id == Handoff.operator_id)
        .where(Handoff.status.in_(("waiting", "active")))
        .order_by((Handoff.status == "active").asc(), Handoff.id)
    ).all()
    items = []
    for handoff, channel, text, at, operator_name in rows:
        text = " ".join((text or "").split())
        items.append(QueueItem(
            handoff.id, handoff.conversation_id, handoff.status, handoff.reason, REASONS.get(handoff.reason, handoff.reason),
            channel, max(0, int((now - handoff.created_at).total_seconds())),
            text if len(text) <= LAST_MESSAGE_MAX else text[: LAST_MESSAGE_MAX - 1] + "…", _iso(at),
            handoff.operator_id, operator_name,
        ))
    return items


def queue_signature(session: Session) -> tuple:
    """Changes whenever the queue does (new, taken, transferred, closed, requeued, a new citizen message): cheap to poll."""
    handoffs = tuple(session.execute(
        select(Handoff.id, Handoff.status, Handoff.operator_id).where(Handoff.status.in_(("waiting", "active")))
        .order_by(Handoff.id)
    ).all())
    newest = session.scalar(select(func.max(Message.id)).where(
        Message.author == "citizen",
        Message.conversation_id.in_(select(Handoff.conversation_id).where(Handoff.status.in_(("waiting", "active"))))))
    return handoffs, newest


def take(session: Session, handoff_id: int, staff_id: int, now: datetime | None = None) -> Held:
    """Give the waiting handoff to ``staff_id``; DeskError when it is not waiting (someone else was faster)."""
    now = now or utc_naive()
    # The UPDATE first: on SQLite a read before the write could fail on a stale snapshot instead of waiting.
    won = session.execute(
        update(Handoff).where(Handoff.id == handoff_id, Handoff.status == "waiting")
        .values(status="active", operator_id=staff_id, taken_at=now, operator_seen_at=now),
        execution_options={"synchronize_session": False},
    ).rowcount == 1
    if not won:
        _explain(session, handoff_id)
    staff = _staff(session, staff_id)
    return _hold(session, handoff_id, staff)


def transfer(session: Session, handoff_id: int, staff_id: int, to_staff_id: int, any_holder: bool = False,
             now: datetime | None = None) -> Held:
    """Hand a held conversation to another operator; only its holder may (or an admin: ``any_holder``)."""
    if to_staff_id == staff_id:
        raise DeskError("Không thể chuyển cuộc trò chuyện cho chính mình.", 400)
    holder = [] if any_holder else [Handoff.operator_id == staff_id]
    moved = session.execute(
        update(Handoff).where(Handoff.id == handoff_id, Handoff.status == "active", *holder)
        .values(operator_id=to_staff_id, operator_seen_at=now or utc_naive()),
        execution_options={"synchronize_session": False},
    ).rowcount == 1
    if not moved:
        _explain_held(session, handoff_id)
    return _hold(session, handoff_id, _staff(session, to_staff_id))


def close(session: Session, handoff_id: int, staff_id: int, outcome: str, any_holder: bool = False,
          now: datetime | None = None) -> Held:
    """End the operator's part with an outcome (a key of OUTCOMES); the bot answers the conversation again."""
    if outcome not in OUTCOMES:
        raise DeskError(f"Kết quả xử lý không hợp lệ. Chọn một trong: {', '.join(OUTCOMES.values())}.", 400)
    holder = [] if any_holder else [Handoff.operator_id == staff_id]
    closed = session.execute(
        update(Handoff).where(Handoff.id == handoff_id, Handoff.status == "active", *holder)
        .values(status="closed", outcome=outcome, closed_at=now or utc_naive()),
        execution_options={"synchronize_session": False},
    ).rowcount == 1
    if not closed:
        _explain_held(session, handoff_id)
    handoff = session.get(Handoff, handoff_id, populate_existing=True)
    conversation = session.get(Conversation, handoff.conversation_id, populate_existing=True)
    conversation.state, conversation.assigned_to = "bot", None
    session.flush()
    staff = session.get(StaffUser, handoff.operator_id)
    return Held(handoff.id, conversation.id, conversation.channel, conversation.sender_id, handoff.operator_id,
                staff.full_name if staff else "")


def add_note(session: Session, handoff_id: int, staff_id: int, text: str) -> HandoffNote:
    """An internal note (staff only) on a waiting or held handoff."""
    text = form_input.text(text) or ""
    if not text:
        raise DeskError("Ghi chú không được để trống.", 400)
    if len(text) > NOTE_MAX:
        raise DeskError(f"Ghi chú quá dài (tối đa {NOTE_MAX} ký tự).", 400)
    if session.get(Handoff, handoff_id) is None:
        raise DeskError("Không tìm thấy yêu cầu hỗ trợ này.", 404)
    note = HandoffNote(handoff_id=handoff_id, staff_id=staff_id, text=text, created_at=utc_naive())
    session.add(note)
    session.flush()
    return note


def notes(session: Session, conversation_id: int) -> list[dict]:
    """Every internal note on the conversation's handoffs, oldest first."""
    rows = session.execute(
        select(HandoffNote, StaffUser.full_name).join(Handoff, Handoff.id == HandoffNote.handoff_id)
        .join(StaffUser, StaffUser.id == HandoffNote.staff_id)
        .where(Handoff.conversation_id == conversation_id).order_by(HandoffNote.id)
    ).all()
    return [{"id": note.id, "handoff_id": note.handoff_id, "author": name, "text": note.text, "at": _iso(note.created_at)}
            for note, name in rows]


def heartbeat(session: Session, staff_ids: list[int], now: datetime | None = None) -> int:
    """The consoles of ``staff_ids`` are connected: their held handoffs are not abandoned."""
    if not staff_ids:
        return 0
    return session.execute(
        update(Handoff).where(Handoff.status == "active", Handoff.operator_id.in_(staff_ids))
        .values(operator_seen_at=now or utc_naive()),
        execution_options={"synchronize_session": False},
    ).rowcount


def requeue_abandoned(session: Session, now: datetime | None = None) -> list[Held]:
    """Held handoffs whose console has been gone longer than the grace period go back to the queue."""
    now = now or utc_naive()
    cutoff = now - timedelta(seconds=get_settings().operator_grace_seconds)
    stale = session.execute(
        select(Handoff.id, Handoff.operator_id).where(Handoff.status == "active", Handoff.operator_seen_at < cutoff)
    ).all()
    requeued = []
    for handoff_id, operator_id in stale:
        # Conditional again: a heartbeat or a close may have come in since the SELECT.
        if session.execute(
            update(Handoff).where(Handoff.id == handoff_id, Handoff.status == "active", Handoff.operator_seen_at < cutoff)
            .values(status="waiting", operator_id=None, taken_at=None, operator_seen_at=None),
            execution_options={"synchronize_session": False},
        ).rowcount != 1:
            continue
        handoff = session.get(Handoff, handoff_id, populate_existing=True)
        conversation = session.get(Conversation, handoff.conversation_id, populate_existing=True)
        conversation.state, conversation.assigned_to = "queued", None
        requeued.append(Held(handoff_id, conversation.id, conversation.channel, conversation.sender_id, operator_id, ""))
    session.flush()
    return requeued


def holder(session: Session, conversation_id: int) -> Handoff | None:
    """The conversation's open handoff (waiting or held), if any."""
    return session.scalars(
        select(Handoff).where(Handoff.conversation_id == conversation_id, Handoff.status.in_(("waiting", "active")))
        .order_by(Handoff.id.desc()).limit(1)
    ).first()


def _staff(session: Session, staff_id: int) -> StaffUser:
    staff = session.get(StaffUser, staff_id)
    if staff is None or not staff.active or staff.role not in STAFF_ROLES:
        raise DeskError("Tài khoản nhân viên không tồn tại, đã bị khóa hoặc không có quyền nhận cuộc trò chuyện.", 400)
    return staff


def _hold(session: Session, handoff_id: int, staff: StaffUser) -> Held:
    handoff = session.get(Handoff, handoff_id, populate_existing=True)
    conversation = session.get(Conversation, handoff.conversation_id, populate_existing=True)
    conversation.state, conversation.assigned_to = "operator", staff.id
    session.flush()
    return Held(handoff.id, conversation.id, conversation.channel, conversation.sender_id, staff.id, staff.full_name)


def _explain(session: Session, handoff_id: int) -> None:
    status = session.scalar(select(Handoff.status).where(Handoff.id == handoff_id))
    if status is None:
        raise DeskError("Không tìm thấy yêu cầu hỗ trợ này.", 404)
    raise DeskError({
        "active": "Cuộc trò chuyện này đã có người nhận.",
        "closed": "Cuộc trò chuyện này đã kết thúc.",
        "callback": "Yêu cầu này đã chuyển thành đề nghị gọi lại.",
    }.get(status, "Cuộc trò chuyện này không còn trong hàng chờ."))


def _explain_held(session: Session, handoff_id: int) -> None:
    status = session.scalar(select(Handoff.status).where(Handoff.id == handoff_id))
    if status is None:
        raise DeskError("Không tìm thấy yêu cầu hỗ trợ này.", 404)
    if status == "active":
        raise DeskError("Anh/chị không giữ cuộc trò chuyện này (đã chuyển cho người khác).", 403)
    raise DeskError("Cuộc trò chuyện này không còn do tổng đài viên xử lý.")

