"""Canned replies: ready-made operator answers that administrators keep."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge_base import form_input
from knowledge_base.models import AuditLog, CannedReply

TITLE_MAX, TEXT_MAX = 120, 2000


def all_replies(session: Session) -> list[CannedReply]:
    return list(session.scalars(select(CannedReply).order_by(CannedReply.position, CannedReply.title, CannedReply.id)))


def as_dict(reply: CannedReply) -> dict:
    return {"id": reply.id, "title": reply.title, "text": reply.text, "position": reply.position}


def save(session: Session, actor: str, title: str | None, text: str | None, position: object = 0,
         reply_id: int | None = None) -> CannedReply:
    """Create (``reply_id`` None) or update a canned reply; bad input raises ValueError and writes nothing."""
    clean_title, clean_text = form_input.text(title), form_input.text(text)
    if clean_title is None or clean_text is None:
        raise ValueError("Vui lòng nhập cả tiêu đề và nội dung câu trả lời mẫu.")
    if len(clean_title) > TITLE_MAX or len(clean_text) > TEXT_MAX:
        raise ValueError(f"Tiêu đề tối đa {TITLE_MAX} ký tự, nội dung tối đa {TEXT_MAX} ký tự.")
    try:
        order = int(position or 0)
    except (TypeError, ValueError):
        raise ValueError("Thứ tự phải là một số nguyên.") from None
    if reply_id is None:
        reply = CannedReply()
        session.add(reply)
    else:
        reply = session.get(CannedReply, reply_id)
        if reply is None:
            raise LookupError("Không tìm thấy câu trả lời mẫu.")
    reply.title, reply.text, reply.position, reply.updated_by = clean_title, clean_text, order, actor
    session.flush()
    session.add(AuditLog(actor=actor, action="canned_reply_saved", target=str(reply.id)))
    return reply


def delete(session: Session, actor: str, reply_id: int) -> None:
    reply = session.get(CannedReply, reply_id)
    if reply is None:
        raise LookupError("Không tìm thấy câu trả lời mẫu.")
    session.delete(reply)
    session.add(AuditLog(actor=actor, action="canned_reply_deleted", target=str(reply_id), details={"title": reply.title}))
    session.flush()
