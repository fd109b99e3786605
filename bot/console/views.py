"""What the console reads: the queue, one conversation with its notes and context, procedures and dossiers."""
from __future__ import annotations

import re

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from bot.auth import Staff
from bot import delivery
from knowledge_base import catalogue, operator_desk
from knowledge_base.db import session_factory, transaction
from knowledge_base.models import Conversation, Handoff, Message, Procedure, StaffUser
from knowledge_base.tracking_code import find_tracking_codes

TRANSCRIPT_MAX = 500  # messages shown when a conversation is opened over HTTP
# How the bot names a procedure: "… (mã 1.001234)"; citizens may type "mã 2.000123" too.
PROCEDURE_MENTION = re.compile(r"\bmã(?:\s+thủ\s+tục)?\s+([0-9A-Za-z][0-9A-Za-z.\-]{2,31}[0-9A-Za-z])", re.IGNORECASE)


def queue_items() -> list[dict]:
    with session_factory()() as session:
        return [item.to_dict() for item in operator_desk.queue(session)]


def heartbeat(staff_ids: list[int]) -> int:
    with transaction() as session:
        return operator_desk.heartbeat(session, staff_ids)


def queue_signature() -> tuple:
    with session_factory()() as session:
        return operator_desk.queue_signature(session)


def _may_view(session: Session, conversation: Conversation, staff: Staff) -> bool:
    """Admins see every conversation; operators those that were escalated to the hotline."""
    if staff.is_admin:
        return True
    return bool(session.scalar(select(exists().where(Handoff.conversation_id == conversation.id))))


def channel_sender(conversation_id: int, staff: Staff) -> tuple[str, str] | None:
    """The conversation's (channel, sender) when ``staff`` may view it, else None."""
    with session_factory()() as session:
        conversation = session.get(Conversation, conversation_id)
        if conversation is None or not _may_view(session, conversation, staff):
            return None
        return conversation.channel, conversation.sender_id


def conversation(conversation_id: int, staff: Staff) -> dict | None:
    """The conversation for the console: state, open handoff, full transcript (bot turns too), notes, context."""
    with session_factory()() as session:
        found = session.get(Conversation, conversation_id)
        if found is None or not _may_view(session, found, staff):
            return None
        handoff = operator_desk.holder(session, conversation_id)
        operator = session.get(StaffUser, handoff.operator_id) if handoff is not None and handoff.operator_id else None
        messages = list(reversed(session.scalars(
            select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id.desc()).limit(TRANSCRIPT_MAX)
        ).all()))
        return {
            "id": found.id, "channel": found.channel, "state": found.state, "assigned_to": found.assigned_to,
            "mine": found.state == "operator" and found.assigned_to == staff.id,
            "handoff": None if handoff is None else {
                "id": handoff.id, "status": handoff.status, "reason": handoff.reason,
                "reason_label": operator_desk.REASONS.get(handoff.reason, handoff.reason),
                "operator_id": handoff.operator_id, "operator_name": operator.full_name if operator else None,
            },
            "messages": [delivery.outbound(message) for message in messages],
            "notes": operator_desk.notes(session, conversation_id),
            "context": _context(session, [message.text for message in messages]),
            "outcomes": operator_desk.OUTCOMES,
        }


def _context(session: Session, texts: list[str]) -> dict:
    """The procedures and dossiers the transcript mentions that the knowledge base knows, most recent first."""
    codes: list[str] = []
    tracking: list[str] = []
    for text in reversed(texts):
        for match in PROCEDURE_MENTION.finditer(text):
            if match.group(1) not in codes:
                codes.append(match.group(1))
        for code in find_tracking_codes(text):
            if str(code) not in tracking:
                tracking.append(str(code))
    known = dict(session.execute(select(Procedure.code, Procedure.name).where(Procedure.code.in_(codes))).all()) if codes else {}
    dossiers = [catalogue.get_dossier(session, code) for code in tracking]
    return {
        "procedures": [{"code": code, "name": " ".join(known[code].split())} for code in codes if code in known],
        "dossiers": [{"tracking_code": d.tracking_code, "procedure_code": d.procedure_code, "status": d.status}
                     for d in dossiers if d is not None],
    }


def procedure(code: str) -> dict | None:
    with session_factory()() as session:
        record = catalogue.get_procedure(session, code)
        return record.to_dict() if record else None


def dossier(tracking_code: str) -> dict | None:
    with session_factory()() as session:
        found = catalogue.get_dossier(session, tracking_code)
        return catalogue.dossier_dict(found) if found else None
