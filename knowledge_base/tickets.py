"""Phản ánh, kiến nghị and callback requests: numbered PA-YYMMDD-NNNN per day, due in working days."""
from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.settings import get_settings
from knowledge_base import form_input
from knowledge_base.insert_once import insert_once
from knowledge_base.models import Ticket, TicketEvent
from knowledge_base.office_time import add_working_days, local, utc_naive

KINDS = ("complaint", "feedback", "callback")
STATUS_LABELS = {
    "moi": "Mới tiếp nhận",
    "dang_xu_ly": "Đang xử lý",
    "da_giai_quyet": "Đã giải quyết",
    "tu_choi": "Từ chối tiếp nhận",
}
# Citizens type it back loosely ("pa 240315 0007", "Pa2403150007"); found ones are normalised.
TICKET_NUMBER = re.compile(r"(?<![\w-])PA[-\s]?(\d{6})[-\s]?(\d{4,})(?!\w)", re.IGNORECASE)
# Each failed attempt means another writer committed that number first; this bounds a pathological loop.
MAX_ATTEMPTS = 100


def find_ticket_numbers(text: str) -> list[str]:
    """Every ticket number in ``text`` as PA-YYMMDD-NNNN, in order, without repeats."""
    numbers = (f"PA-{day}-{int(sequence):04d}" for day, sequence in TICKET_NUMBER.findall(text))
    return list(dict.fromkeys(numbers))


def open_ticket(
    session: Session,
    kind: str,
    content: str,
    *,
    procedure_code: str | None = None,
    tracking_code: str | None = None,
    contact_name: str | None = None,
    contact_phone: str | None = None,
    conversation_id: int | None = None,
    now: datetime | None = None,
) -> Ticket:
    """Store a new ticket (status moi) with its 'created' event; the caller commits."""
    values = _checked(kind, content, procedure_code, tracking_code, contact_name, contact_phone)
    settings = get_settings()
    created = utc_naive(now)
    day = local(created, settings)
    values.update(
        status="moi", conversation_id=conversation_id, created_at=created, updated_at=created,
        due_at=utc_naive(add_working_days(day, settings.complaint_response_days, settings)),
    )
    prefix = f"PA-{day:%y%m%d}-"
    for _ in range(MAX_ATTEMPTS):
        number = f"{prefix}{_last_sequence(session, prefix) + 1:04d}"
        if insert_once(session, Ticket, {**values, "number": number}, ["number"]):
            break
    else:
        raise RuntimeError(f"could not number a ticket after {MAX_ATTEMPTS} attempts")
    ticket = session.scalars(select(Ticket).where(Ticket.number == number)).one()
    session.add(TicketEvent(ticket_id=ticket.id, actor="citizen", action="created", details={"kind": kind}, created_at=created))
    session.flush()
    return ticket


def _checked(kind, content, procedure_code, tracking_code, contact_name, contact_phone) -> dict:
    if kind not in KINDS:
        raise ValueError(f"Loại yêu cầu không hợp lệ: {kind!r} (chỉ nhận {', '.join(KINDS)}).")
    text = form_input.text(content)
    if text is None:
        raise ValueError("Vui lòng cho biết nội dung phản ánh, kiến nghị.")
    phone = form_input.phone(contact_phone)
    if kind == "callback" and phone is None:
        raise ValueError("Vui lòng cho biết số điện thoại để tổng đài viên gọi lại.")
    return {
        "kind": kind,
        "content": text,
        "procedure_code": form_input.procedure_code(procedure_code),
        "tracking_code": form_input.tracking_code(tracking_code),
        "contact_name": form_input.text(contact_name),
        "contact_phone": phone,
    }


def _last_sequence(session: Session, prefix: str) -> int:
    # Longest first: a day past 9999 tickets gets five digits, which sort below four as strings.
    last = session.scalars(
        select(Ticket.number)
        .where(Ticket.number.like(f"{prefix}%"))
        .order_by(func.length(Ticket.number).desc(), Ticket.number.desc())
        .limit(1)
    ).first()
    return int(last.removeprefix(prefix)) if last else 0


def get_ticket(session: Session, number: str) -> Ticket | None:
    """The ticket ``number`` names (typed loosely), or None."""
    numbers = find_ticket_numbers(number)
    if len(numbers) != 1:
        return None
    return session.scalars(select(Ticket).where(Ticket.number == numbers[0])).first()
