"""The console's JSON API for tickets (phản ánh, kiến nghị) and callback requests; operators and admins."""
from __future__ import annotations

from typing import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot import delivery
from bot.auth import Endpoint, require
from bot.console import citizen
from bot.json_body import BadBody, json_body, text_field
from knowledge_base import conversations
from knowledge_base import ticket_workflow as workflow
from knowledge_base.db import session_factory, transaction
from knowledge_base.models import Conversation, StaffUser, Ticket
from knowledge_base.tickets import STATUS_LABELS

TRANSCRIPT = 30  # messages of the citizen's conversation shown beside a ticket


def _names(session: Session) -> dict[int, StaffUser]:
    return {staff.id: staff for staff in session.scalars(select(StaffUser))}


def ticket_view(ticket: Ticket, staff: dict[int, StaffUser], channel: str | None = None) -> dict:
    assignee = staff.get(ticket.assigned_to) if ticket.assigned_to else None
    return {
        "number": ticket.number,
        "kind": ticket.kind, "kind_label": workflow.KIND_LABELS.get(ticket.kind, ticket.kind),
        "status": ticket.status, "status_label": STATUS_LABELS.get(ticket.status, ticket.status),
        "next_statuses": [{"status": s, "label": STATUS_LABELS[s]} for s in workflow.TRANSITIONS.get(ticket.status, ())],
        "content": ticket.content,
        "procedure_code": ticket.procedure_code, "tracking_code": ticket.tracking_code,
        "contact_name": ticket.contact_name, "contact_phone": ticket.contact_phone,
        "preferred_time": ticket.preferred_time,
        "callback_outcome": ticket.callback_outcome,
        "callback_outcome_label": workflow.CALLBACK_OUTCOMES.get(ticket.callback_outcome or ""),
        "assigned_to": assignee.username if assignee else None,
        "assigned_name": assignee.full_name if assignee else None,
        "due_at": workflow.iso(ticket.due_at), "overdue": workflow.is_overdue(ticket),
        "created_at": workflow.iso(ticket.created_at), "updated_at": workflow.iso(ticket.updated_at),
        "channel": channel, "can_reply": ticket.conversation_id is not None,
    }


def _detail(session: Session, ticket: Ticket) -> dict:
    staff = _names(session)
    full_names = {member.username: member.full_name for member in staff.values()}
    conversation = session.get(Conversation, ticket.conversation_id) if ticket.conversation_id else None
    events = [
        {"at": workflow.iso(event.created_at), "actor": event.actor,
         "actor_name": full_names.get(event.actor, "Công dân" if event.actor == "citizen" else event.actor),
         "action": event.action, "details": event.details or {}, "text": workflow.describe(event)}
        for event in workflow.history(session, ticket)
    ]
    transcript = conversations.transcript(session, conversation.id, TRANSCRIPT) if conversation else []
    return {"ticket": ticket_view(ticket, staff, conversation.channel if conversation else None),
            "history": events, "transcript": transcript}


def _query_filters(request: Request, kinds: tuple[str, ...], staff_id: int) -> workflow.Filters:
    params = request.query_params
    kind = params.get("kind") or None
    if kind is not None and kind not in kinds:
        raise workflow.WorkflowError(f"Loại không hợp lệ: {kind!r}.")
    assigned = params.get("assigned") or None
    assigned_to = {None: None, "me": staff_id, "none": 0}.get(assigned, -1)
    if assigned_to == -1:
        raise workflow.WorkflowError("Bộ lọc phân công chỉ nhận me hoặc none.")
    return workflow.Filters(status=params.get("status") or None, kinds=(kind,) if kind else kinds,
                            overdue=params.get("overdue") in ("1", "true"), assigned_to=assigned_to)


def _error(error: Exception) -> JSONResponse:
    status = 404 if isinstance(error, LookupError) else 400
    return JSONResponse({"error": str(error)}, status_code=status)


async def _list(request: Request, kinds: tuple[str, ...]) -> Response:
    def read() -> dict:
        filters = _query_filters(request, kinds, request.state.staff.id)
        with session_factory()() as session:
            staff = _names(session)
            return {"tickets": [ticket_view(t, staff) for t in workflow.list_tickets(session, filters)],
                    "statuses": [{"status": s, "label": label} for s, label in STATUS_LABELS.items()]}

    try:
        return JSONResponse(await run_in_threadpool(read))
    except workflow.WorkflowError as error:
        return _error(error)


@require("operator")
async def list_tickets(request: Request) -> Response:
    """GET /api/console/tickets?status=&kind=complaint|feedback&overdue=1&assigned=me|none"""
    return await _list(request, ("complaint", "feedback"))


@require("operator")
async def list_callbacks(request: Request) -> Response:
    """GET /api/console/callbacks?status=&overdue=1&assigned=me|none"""
    return await _list(request, ("callback",))


@require("operator")
async def show(request: Request) -> Response:
    """GET /api/console/tickets/{number}: the ticket, its full history and the citizen's recent messages."""
    def read() -> dict:
        with session_factory()() as session:
            return _detail(session, workflow.find(session, request.path_params["number"]))

    try:
        return JSONResponse(await run_in_threadpool(read))
    except LookupError as error:
        return _error(error)


def _change(request: Request, body: dict, act: Callable[[Session, Ticket, str, dict], object]) -> dict:
    with transaction() as session:
        ticket = workflow.find(session, request.path_params["number"])
        act(session, ticket, request.state.staff.username, body)
        return _detail(session, ticket)


async def _post(request: Request, act: Callable[[Session, Ticket, str, dict], object]) -> Response:
    try:
        body = await json_body(request)
        return JSONResponse(await run_in_threadpool(_change, request, body, act))
    except BadBody as error:
        return error.response()
    except (LookupError, ValueError) as error:  # WorkflowError is a ValueError: nothing was committed
        return _error(error)


def _noted(field: str, act: Callable[[Session, Ticket, str, str, str | None], object]) -> Endpoint:
    """The endpoint for POST {``field``, note?}: ``act(session, ticket, value, actor, note)``."""
    @require("operator")
    async def endpoint(request: Request) -> Response:
        return await _post(request, lambda s, t, actor, b: act(s, t, text_field(b, field) or "", actor, text_field(b, "note")))

    return endpoint


# POST /api/console/tickets/{number}/status {status, note?}
set_status = _noted("status", workflow.change_status)
# POST /api/console/callbacks/{number}/outcome {outcome: called|unreachable, note?}
record_callback = _noted("outcome", workflow.record_callback)


@require("operator")
async def set_assignee(request: Request) -> Response:
    """POST /api/console/tickets/{number}/assign {username | null}"""
    return await _post(request, lambda s, t, actor, b: workflow.assign(s, t, text_field(b, "username"), actor))


@require("operator")
async def add_note(request: Request) -> Response:
    """POST /api/console/tickets/{number}/notes {text}: an internal note."""
    return await _post(request, lambda s, t, actor, b: workflow.add_note(s, t, actor, text_field(b, "text")))


@require("operator")
async def reply(request: Request) -> Response:
    """POST /api/console/tickets/{number}/reply {text}: stored in the citizen's conversation, then delivered."""
    def store(body: dict) -> tuple[dict, str, str, dict]:
        with transaction() as session:
            ticket = workflow.find(session, request.path_params["number"])
            message = workflow.record_reply(session, ticket, request.state.staff.username, text_field(body, "text"))
            conversation = session.get(Conversation, ticket.conversation_id)
            return _detail(session, ticket), conversation.channel, conversation.sender_id, delivery.outbound(message)

    try:
        body = await json_body(request)
        detail, channel, sender, message = await run_in_threadpool(store, body)
    except BadBody as error:
        return error.response()
    except (LookupError, ValueError) as error:
        return _error(error)
    await citizen.send(request.app, channel, sender, [message])
    return JSONResponse(detail)


routes = [
    Route("/api/console/tickets", list_tickets, methods=["GET"]),
    Route("/api/console/tickets/{number}", show, methods=["GET"]),
    Route("/api/console/tickets/{number}/status", set_status, methods=["POST"]),
    Route("/api/console/tickets/{number}/assign", set_assignee, methods=["POST"]),
    Route("/api/console/tickets/{number}/notes", add_note, methods=["POST"]),
    Route("/api/console/tickets/{number}/reply", reply, methods=["POST"]),
    Route("/api/console/callbacks", list_callbacks, methods=["GET"]),
    Route("/api/console/callbacks/{number}/outcome", record_callback, methods=["POST"]),
]
