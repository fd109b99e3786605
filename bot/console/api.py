"""The console's JSON API: queue, conversation, procedure and dossier reads; take, transfer, notes, close, reply.

Every endpoint needs a signed-in operator or admin; every POST the session's CSRF token (``bot.auth.require``).
Refusals are JSON ``{"error": "<Vietnamese>"}`` with 400 / 403 / 404 / 409 (409: someone else was faster)."""
from __future__ import annotations

import functools

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.auth import require
from bot.console import desk, views
from bot.json_body import BAD, BadBody, json_body
from knowledge_base import operator_desk
from knowledge_base.db import transaction
from knowledge_base.operator_desk import DeskError


def _error(text: str, status: int) -> JSONResponse:
    return JSONResponse({"error": text}, status_code=status)


async def _body(request: Request) -> dict:
    try:
        return await json_body(request)
    except BadBody as error:
        raise DeskError(str(error) or BAD, 400) from None


def _desk_errors(endpoint):
    @functools.wraps(endpoint)
    async def wrapped(request: Request) -> JSONResponse:
        try:
            return await endpoint(request)
        except DeskError as error:
            return _error(str(error), error.status)
    return wrapped


@require("operator")
async def queue(request: Request) -> JSONResponse:
    return JSONResponse({"items": await run_in_threadpool(views.queue_items)})


@require("operator")
async def conversation(request: Request) -> JSONResponse:
    found = await run_in_threadpool(views.conversation, request.path_params["conversation_id"], request.state.staff)
    if found is None:
        return _error("Không tìm thấy cuộc trò chuyện, hoặc anh/chị không được xem cuộc trò chuyện này.", 404)
    return JSONResponse(found)


@require("operator")
async def procedure(request: Request) -> JSONResponse:
    found = await run_in_threadpool(views.procedure, request.path_params["code"])
    return JSONResponse(found) if found else _error("Không có thủ tục với mã này.", 404)


@require("operator")
async def dossier(request: Request) -> JSONResponse:
    found = await run_in_threadpool(views.dossier, request.path_params["code"])
    return JSONResponse(found) if found else _error("Không có hồ sơ với mã này.", 404)


def _held(held: operator_desk.Held) -> JSONResponse:
    return JSONResponse({"handoff_id": held.handoff_id, "conversation_id": held.conversation_id,
                         "operator_id": held.operator_id, "operator_name": held.operator_name})


@require("operator")
@_desk_errors
async def take(request: Request) -> JSONResponse:
    """Take a waiting conversation: 409 "đã có người nhận" for the operator who came second."""
    return _held(await desk.take(request.app, request.path_params["handoff_id"], request.state.staff))


@require("operator")
@_desk_errors
async def transfer(request: Request) -> JSONResponse:
    to = (await _body(request)).get("to")
    if isinstance(to, bool) or not isinstance(to, int):
        raise DeskError('Cần chọn tổng đài viên nhận ("to": mã nhân viên).', 400)
    return _held(await desk.transfer(request.app, request.path_params["handoff_id"], request.state.staff, to))


@require("operator")
@_desk_errors
async def close(request: Request) -> JSONResponse:
    outcome = (await _body(request)).get("outcome")
    return _held(await desk.close(request.app, request.path_params["handoff_id"], request.state.staff, str(outcome or "")))


def _note(handoff_id: int, staff_id: int, text: str) -> dict:
    with transaction() as session:
        note = operator_desk.add_note(session, handoff_id, staff_id, text)
        return {"id": note.id, "handoff_id": note.handoff_id}


@require("operator")
@_desk_errors
async def note(request: Request) -> JSONResponse:
    text = (await _body(request)).get("text")
    if not isinstance(text, str):
        raise DeskError("Ghi chú không được để trống.", 400)
    return JSONResponse(await run_in_threadpool(_note, request.path_params["handoff_id"], request.state.staff.id, text), status_code=201)


@require("operator")
@_desk_errors
async def reply(request: Request) -> JSONResponse:
    """The operator's message to the citizen (the same as a "reply" frame on /ws/console)."""
    body = await _body(request)
    message = await desk.reply(request.app, request.path_params["conversation_id"], request.state.staff, body.get("text"), body.get("client_id"))
    return JSONResponse({"message": message}, status_code=201 if message else 200)


routes = [
    Route("/api/console/queue", queue),
    Route("/api/console/conversations/{conversation_id:int}", conversation),
    Route("/api/console/conversations/{conversation_id:int}/messages", reply, methods=["POST"]),
    Route("/api/console/procedures/{code}", procedure),
    Route("/api/console/dossiers/{code}", dossier),
    Route("/api/console/handoffs/{handoff_id:int}/take", take, methods=["POST"]),
    Route("/api/console/handoffs/{handoff_id:int}/transfer", transfer, methods=["POST"]),
    Route("/api/console/handoffs/{handoff_id:int}/close", close, methods=["POST"]),
    Route("/api/console/handoffs/{handoff_id:int}/notes", note, methods=["POST"]),
]
