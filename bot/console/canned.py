"""Canned replies (kept by admins, read by operators) and the staff list the console assigns work to."""
from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.auth import require
from bot.json_body import BadBody, json_body, text_field
from knowledge_base import canned_replies
from knowledge_base import staff as accounts
from knowledge_base.db import session_factory, transaction


def _all_replies() -> dict:
    with session_factory()() as session:
        return {"replies": [canned_replies.as_dict(reply) for reply in canned_replies.all_replies(session)]}


@require("operator")
async def replies_for_operators(request: Request) -> Response:
    """GET /api/console/canned-replies"""
    return JSONResponse(await run_in_threadpool(_all_replies))


@require("operator")
async def operators(request: Request) -> Response:
    """GET /api/console/operators: active staff, for assignment and transfer."""
    def read() -> dict:
        with session_factory()() as session:
            return {"operators": [{"id": s.id, "username": s.username, "full_name": s.full_name, "role": s.role}
                                  for s in accounts.list_staff(session) if s.active]}

    return JSONResponse(await run_in_threadpool(read))


@require("admin")
async def admin_replies(request: Request) -> Response:
    """GET /api/admin/canned-replies; POST {title, text, position?} creates one."""
    if request.method == "GET":
        return JSONResponse(await run_in_threadpool(_all_replies))
    return await _save(request, None)


@require("admin")
async def admin_reply(request: Request) -> Response:
    """PUT /api/admin/canned-replies/{id} {title, text, position?}; DELETE removes it."""
    reply_id = request.path_params["reply_id"]
    if request.method == "DELETE":
        def remove() -> None:
            with transaction() as session:
                canned_replies.delete(session, request.state.staff.username, reply_id)

        try:
            await run_in_threadpool(remove)
        except LookupError as error:
            return JSONResponse({"error": str(error)}, status_code=404)
        return JSONResponse(await run_in_threadpool(_all_replies))
    return await _save(request, reply_id)


async def _save(request: Request, reply_id: int | None) -> Response:
    def write(body: dict) -> dict:
        with transaction() as session:
            reply = canned_replies.save(session, request.state.staff.username, text_field(body, "title"),
                                        text_field(body, "text"), body.get("position", 0), reply_id)
            return canned_replies.as_dict(reply)

    try:
        saved = await run_in_threadpool(write, await json_body(request))
    except BadBody as error:
        return error.response()
    except LookupError as error:
        return JSONResponse({"error": str(error)}, status_code=404)
    except ValueError as error:
        return JSONResponse({"error": str(error)}, status_code=400)
    return JSONResponse(saved, status_code=201 if reply_id is None else 200)


routes = [
    Route("/api/console/canned-replies", replies_for_operators, methods=["GET"]),
    Route("/api/console/operators", operators, methods=["GET"]),
    Route("/api/admin/canned-replies", admin_replies, methods=["GET", "POST"]),
    Route("/api/admin/canned-replies/{reply_id:int}", admin_reply, methods=["PUT", "DELETE"]),
]
