"""Escalation to hotline staff: the queue, callback requests outside office hours, operator hold."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.settings import get_settings
from knowledge_base.models import Conversation, Handoff, Ticket
from knowledge_base.office_time import office_open  # noqa: F401  (part of this module's contract)
from knowledge_base.tickets import open_ticket

REASONS = {
    "request": "Công dân đề nghị gặp tổng đài viên",
    "fallback": "Trợ lý ảo chưa hiểu câu hỏi",
    "complaint": "Phản ánh, kiến nghị",
    "low_rating": "Công dân không hài lòng",
}
OPEN = ("waiting", "active")


@dataclass(frozen=True)
class HandoffTicket:
    handoff_id: int
    position: int  # 1 = next to be taken; 0 = an operator already holds the conversation
    expected_wait_minutes: int
    reused: bool


def request_handoff(session: Session, conversation: Conversation, reason: str) -> HandoffTicket:
    """Queue the conversation for an operator, or report its place if it is already queued or held."""
    _check_reason(reason)
    _lock(session, conversation)
    handoff = _current(session, conversation, OPEN)
    reused = handoff is not None
    if handoff is None:
        handoff = Handoff(conversation_id=conversation.id, reason=reason, status="waiting")
        session.add(handoff)
    if handoff.status == "waiting":
        conversation.state = "queued"
    session.flush()
    return _ticket(session, handoff, reused)


def waiting_place(session: Session, conversation: Conversation) -> HandoffTicket | None:
    """The conversation's place in the queue while it waits for an operator, else None."""
    handoff = _current(session, conversation, ("waiting",))
    return _ticket(session, handoff, reused=True) if handoff is not None else None


def _ticket(session: Session, handoff: Handoff, reused: bool) -> HandoffTicket:
    position = _position(session, handoff)
    return HandoffTicket(handoff.id, position, position * get_settings().average_handle_minutes, reused)


def request_callback(session: Session, conversation: Conversation, phone: str, reason: str,
                     preferred_time: str | None = None) -> Ticket:
    """A callback ticket for hotline staff, and the conversation's waiting handoff turned into a callback."""
    _check_reason(reason)
    ticket = open_ticket(
        session, "callback", f"Đề nghị gọi lại. Lý do: {REASONS[reason]}.",
        contact_phone=phone, conversation_id=conversation.id,
    )
    ticket.preferred_time = (preferred_time or "").strip()[:200] or None
    _lock(session, conversation)
    handoff = _current(session, conversation, ("waiting", "callback"))
    if handoff is None:
        handoff = Handoff(conversation_id=conversation.id, reason=reason)
        session.add(handoff)
    handoff.status, handoff.callback_phone = "callback", ticket.contact_phone
    conversation.state = "queued"
    session.flush()
    return ticket


def is_held_by_operator(session: Session, channel: str, sender: str) -> bool:
    """Whether an operator holds the conversation, so the bot must stay silent in it."""
    state = session.scalar(
        select(Conversation.state).where(Conversation.channel == channel, Conversation.sender_id == sender)
    )
    return state is not None and held(state)


def held(state: str) -> bool:
    """Whether a conversation in ``state`` is held by an operator, who answers it instead of the bot."""
    return state == "operator"


def _check_reason(reason: str) -> None:
    if reason not in REASONS:
        raise ValueError(f"Lý do chuyển tổng đài viên không hợp lệ: {reason!r} (chỉ nhận {', '.join(REASONS)}).")


def _lock(session: Session, conversation: Conversation) -> None:
    # A no-op write takes PostgreSQL's row lock and SQLite's write lock alike, so two requests of
    # one conversation cannot both see "nothing queued" and queue it twice.
    session.flush()
    session.execute(
        update(Conversation).where(Conversation.id == conversation.id).values(state=Conversation.state),
        execution_options={"synchronize_session": False},
    )


def _current(session: Session, conversation: Conversation, statuses: tuple[str, ...]) -> Handoff | None:
    return session.scalars(
        select(Handoff)
        .where(Handoff.conversation_id == conversation.id, Handoff.status.in_(statuses))
        .order_by(Handoff.id)
        .limit(1)
    ).first()


def _position(session: Session, handoff: Handoff) -> int:
    if handoff.status != "waiting":
        return 0
    older = session.scalar(select(func.count()).where(Handoff.status == "waiting", Handoff.id < handoff.id))
    return 1 + older
