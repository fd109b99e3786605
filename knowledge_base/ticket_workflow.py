"""What staff do with tickets: status workflow, assignment, notes, replies, callback outcomes — each a TicketEvent."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from knowledge_base import conversations, form_input
from knowledge_base.models import Conversation, Handoff, Message, StaffUser, Ticket, TicketEvent
from knowledge_base.office_time import utc_naive
from knowledge_base.tickets import STATUS_LABELS, get_ticket

OPEN_STATUSES = ("moi", "dang_xu_ly")
# mới → đang xử lý → đã giải quyết; từ chối from either open state; both ends are final.
TRANSITIONS = {"moi": ("dang_xu_ly", "tu_choi"), "dang_xu_ly": ("da_giai_quyet", "tu_choi"),
               "da_giai_quyet": (), "tu_choi": ()}
KIND_LABELS = {"complaint": "Phản ánh", "feedback": "Kiến nghị", "callback": "Gọi lại"}
CALLBACK_OUTCOMES = {"called": "Đã gọi", "unreachable": "Không liên lạc được"}
NOTE_MAX = 4000


class WorkflowError(ValueError):
    """A refused change, with the Vietnamese reason to show; nothing was written."""


@dataclass(frozen=True)
class Filters:
    status: str | None = None  # one status, or "open" / "closed"
    kinds: tuple[str, ...] = ("complaint", "feedback")
    overdue: bool = False
    assigned_to: int | None = None  # a staff id; 0 = nobody
    limit: int = 200


def find(session: Session, number: str) -> Ticket:
    ticket = get_ticket(session, number)
    if ticket is None:
        raise LookupError(f"Không tìm thấy phản ánh «{number}».")
    return ticket


def is_overdue(ticket: Ticket, now: datetime | None = None) -> bool:
    return ticket.status in OPEN_STATUSES and ticket.due_at is not None and ticket.due_at < utc_naive(now)


def list_tickets(session: Session, filters: Filters, now: datetime | None = None) -> list[Ticket]:
    """Tickets matching ``filters``, the soonest due first (overdue ones lead), then the newest."""
    query = select(Ticket).where(Ticket.kind.in_(filters.kinds))
    if filters.status == "open":
        query = query.where(Ticket.status.in_(OPEN_STATUSES))
    elif filters.status == "closed":
        query = query.where(Ticket.status.not_in(OPEN_STATUSES))
    elif filters.status:
        if filters.status not in STATUS_LABELS:
            raise WorkflowError(f"Trạng thái không hợp lệ: {filters.status!r}.")
        query = query.where(Ticket.status == filters.status)
    if filters.overdue:
        query = query.where(Ticket.status.in_(OPEN_STATUSES), Ticket.due_at < utc_naive(now))
    if filters.assigned_to == 0:
        query = query.where(Ticket.assigned_to.is_(None))
    elif filters.assigned_to is not None:
        query = query.where(Ticket.assigned_to == filters.assigned_to)
    open_first = Ticket.status.in_(OPEN_STATUSES).desc()
    return list(session.scalars(query.order_by(open_first, Ticket.due_at, Ticket.id.desc()).limit(filters.limit)))


def _event(session: Session, ticket: Ticket, actor: str, action: str, details: dict, now: datetime) -> None:
    session.add(TicketEvent(ticket_id=ticket.id, actor=actor, action=action, details=details, created_at=now))
    ticket.updated_at = now
    session.flush()


def _text(value: str | None, what: str) -> str:
    text = _optional_text(value)
    if text is None:
        raise WorkflowError(f"Vui lòng nhập {what}.")
    return text


def _optional_text(value: str | None) -> str | None:
    """Trimmed text of at most NOTE_MAX characters, or None when blank."""
    text = form_input.text(value)
    if text is not None and len(text) > NOTE_MAX:
        raise WorkflowError(f"Nội dung dài quá {NOTE_MAX} ký tự.")
    return text


def change_status(session: Session, ticket: Ticket, status: str, actor: str, note: str | None = None,
                  now: datetime | None = None) -> None:
    """Move the ticket along the workflow; an invalid move (or a concurrent one) raises WorkflowError."""
    now = utc_naive(now)
    if status not in STATUS_LABELS:
        raise WorkflowError(f"Trạng thái không hợp lệ: {status!r}.")
    current = ticket.status
    if status not in TRANSITIONS[current]:
        allowed = TRANSITIONS[current]
        if not allowed:
            raise WorkflowError(f"Phản ánh {ticket.number} đã kết thúc («{STATUS_LABELS[current]}»), không thể đổi trạng thái.")
        names = " hoặc ".join(f"«{STATUS_LABELS[s]}»" for s in allowed)
        raise WorkflowError(f"Không thể chuyển phản ánh {ticket.number} từ «{STATUS_LABELS[current]}» sang "
                            f"«{STATUS_LABELS[status]}»; từ trạng thái này chỉ chuyển được sang {names}.")
    reason = _optional_text(note)
    if status == "tu_choi" and reason is None:
        raise WorkflowError("Vui lòng ghi lý do từ chối.")
    # Conditional on the status read: of two staff changing it at once, the second is told, not overwritten.
    moved = session.execute(
        update(Ticket).where(Ticket.id == ticket.id, Ticket.status == current).values(status=status, updated_at=now),
        execution_options={"synchronize_session": False},
    ).rowcount
    if moved != 1:
        raise WorkflowError(f"Phản ánh {ticket.number} vừa được người khác cập nhật. Vui lòng tải lại rồi thử lại.")
    session.refresh(ticket)
    _event(session, ticket, actor, "status", {"from": current, "to": status, "note": reason}, now)


def assign(session: Session, ticket: Ticket, username: str | None, actor: str, now: datetime | None = None) -> None:
    """Give the ticket to an active staff member (None: to nobody)."""
    now = utc_naive(now)
    staff = None
    if username:
        staff = session.scalars(select(StaffUser).where(StaffUser.username == username.strip().lower())).first()
        if staff is None or not staff.active:
            raise WorkflowError(f"Không có tổng đài viên đang hoạt động tên «{username}».")
    before = session.get(StaffUser, ticket.assigned_to).username if ticket.assigned_to else None
    after = staff.username if staff else None
    if before == after:
        return
    ticket.assigned_to = staff.id if staff else None
    _event(session, ticket, actor, "assigned", {"from": before, "to": after}, now)


def add_note(session: Session, ticket: Ticket, actor: str, text: str | None, now: datetime | None = None) -> None:
    """An internal note: staff see it, the citizen never does."""
    _event(session, ticket, actor, "note", {"text": _text(text, "nội dung ghi chú")}, utc_naive(now))


def record_reply(session: Session, ticket: Ticket, actor: str, text: str | None, now: datetime | None = None) -> Message:
    """Store a reply to the citizen in the ticket's conversation (the caller delivers it after commit).

    A new ticket being answered is being handled, so it moves to «Đang xử lý» as well."""
    now = utc_naive(now)
    body = _text(text, "nội dung trả lời")
    conversation = session.get(Conversation, ticket.conversation_id) if ticket.conversation_id else None
    if conversation is None:
        phone = f" qua số {ticket.contact_phone}" if ticket.contact_phone else ""
        raise WorkflowError(f"Phản ánh {ticket.number} không gắn với cuộc hội thoại nào nên không thể trả lời trên "
                            f"kênh của công dân; vui lòng liên hệ trực tiếp{phone}.")
    message = conversations.record_message(session, conversation, "out", "operator", body)
    _event(session, ticket, actor, "replied", {"text": body, "message_id": message.id, "channel": conversation.channel}, now)
    if ticket.status == "moi":
        change_status(session, ticket, "dang_xu_ly", actor, now=now)
    return message


def record_callback(session: Session, ticket: Ticket, outcome: str, actor: str, note: str | None = None,
                    now: datetime | None = None) -> None:
    """«Đã gọi» resolves the callback and closes its handoff; «Không liên lạc được» keeps it open for another try."""
    now = utc_naive(now)
    if ticket.kind != "callback":
        raise WorkflowError(f"{ticket.number} không phải yêu cầu gọi lại.")
    if outcome not in CALLBACK_OUTCOMES:
        raise WorkflowError(f"Kết quả gọi lại không hợp lệ: {outcome!r} (chỉ nhận {', '.join(CALLBACK_OUTCOMES)}).")
    if ticket.status not in OPEN_STATUSES:
        raise WorkflowError(f"Yêu cầu gọi lại {ticket.number} đã kết thúc («{STATUS_LABELS[ticket.status]}»).")
    remark = _optional_text(note)
    ticket.callback_outcome = outcome
    _event(session, ticket, actor, "callback", {"outcome": outcome, "note": remark}, now)
    if ticket.status == "moi":
        change_status(session, ticket, "dang_xu_ly", actor, now=now)
    if outcome == "called":
        change_status(session, ticket, "da_giai_quyet", actor, now=now)
    if outcome == "called" and ticket.conversation_id:
        _close_callback_handoffs(session, ticket.conversation_id, actor, remark, now)


def _close_callback_handoffs(session: Session, conversation_id: int, actor: str, remark: str | None, now: datetime) -> None:
    staff_id = session.scalar(select(StaffUser.id).where(StaffUser.username == actor))
    outcome = f"Đã gọi lại{': ' + remark if remark else ''}"
    session.execute(
        update(Handoff).where(Handoff.conversation_id == conversation_id, Handoff.status == "callback")
        .values(status="closed", outcome=outcome, closed_at=now, operator_id=staff_id),
        execution_options={"synchronize_session": False},
    )
    still_open = session.scalar(select(Handoff.id).where(
        Handoff.conversation_id == conversation_id, Handoff.status.in_(("waiting", "active", "callback"))).limit(1))
    if still_open is None:
        session.execute(
            update(Conversation).where(Conversation.id == conversation_id, Conversation.state == "queued").values(state="bot"),
            execution_options={"synchronize_session": False},
        )
    session.flush()


def history(session: Session, ticket: Ticket) -> list[TicketEvent]:
    return list(session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)))


def iso(moment: datetime | None) -> str | None:
    return moment.replace(tzinfo=timezone.utc).isoformat() if moment else None


def describe(event: TicketEvent) -> str:
    """One line of the ticket's history, in Vietnamese."""
    details = event.details or {}
    if event.action == "created":
        return f"Tiếp nhận ({KIND_LABELS.get(details.get('kind'), details.get('kind', ''))})"
    if event.action == "status":
        line = f"Đổi trạng thái: {STATUS_LABELS.get(details.get('from'), '?')} → {STATUS_LABELS.get(details.get('to'), '?')}"
        return f"{line}. Ghi chú: {details['note']}" if details.get("note") else line
    if event.action == "assigned":
        return f"Phân công: {details.get('from') or 'chưa ai'} → {details.get('to') or 'chưa ai'}"
    if event.action == "note":
        return f"Ghi chú nội bộ: {details.get('text', '')}"
    if event.action == "replied":
        return f"Trả lời công dân: {details.get('text', '')}"
    if event.action == "callback":
        line = f"Gọi lại: {CALLBACK_OUTCOMES.get(details.get('outcome'), '?')}"
        return f"{line}. Ghi chú: {details['note']}" if details.get("note") else line
    return event.action
