"""Admin API for the bot's knowledge: FAQ entries (versions, publish, diff, roll back), catalogue uploads
with a preview, single-procedure edits and exports. Admins only; writes need the CSRF header."""
from __future__ import annotations

import base64
import binascii
from typing import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.auth import require
from bot.json_body import BadBody, json_body
from bot.settings import get_settings
from knowledge_base import catalogue, catalogue_admin, exports, faq_admin
from knowledge_base.db import session_factory, transaction
from knowledge_base.models import AuditLog
from knowledge_base.records import BadRecord

NOTHING_WRITTEN = "Không có thay đổi nào được ghi."


def _error(message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _run(work: Callable[[], object], status: int = 200) -> Response:
    """Run blocking knowledge-base work; Vietnamese 400/404 for bad input or an unknown record."""
    try:
        result = await run_in_threadpool(work)
    except BadRecord as error:
        return _error(f"{error}. {NOTHING_WRITTEN}", 400)
    except LookupError as error:
        return _error(str(error), 404)
    except ValueError as error:
        return _error(f"{error} {NOTHING_WRITTEN}", 400)
    return result if isinstance(result, Response) else JSONResponse(result, status_code=status)


async def _run_on_body(request: Request, work: Callable[[dict], object], status: int = 200) -> Response:
    """``work(body)`` for the request's JSON body, as ``_run`` runs work; 400 for a bad body."""
    try:
        body = await json_body(request)
    except BadBody as error:
        return error.response()
    return await _run(lambda: work(body), status)


def _entry_detail(session, faq_id: int) -> dict:
    entry = faq_admin.get_entry(session, faq_id)
    return {**faq_admin.as_dict(entry), "versions": [faq_admin.version_dict(v) for v in faq_admin.versions(session, faq_id)]}


# --- FAQ ---

@require("admin")
async def faq_list(request: Request) -> Response:
    """GET /api/admin/faq?q=&status=draft|published; POST creates an entry (``publish``: true to publish at once)."""
    actor = request.state.staff.username
    if request.method == "GET":
        query, status = request.query_params.get("q"), request.query_params.get("status")

        def read() -> dict:
            with session_factory()() as session:
                return {"entries": [faq_admin.as_dict(e) for e in faq_admin.list_entries(session, query, status)]}

        return await _run(read)

    def create(body: dict) -> dict:
        data = faq_admin.parse_input(body)
        with transaction() as session:
            entry = faq_admin.create(session, actor, data, publish=body.get("publish") is True)
            return _entry_detail(session, entry.id)

    return await _run_on_body(request, create, status=201)


@require("admin")
async def faq_entry(request: Request) -> Response:
    """GET /api/admin/faq/{id} (with its versions); PUT edits the content."""
    faq_id, actor = request.path_params["faq_id"], request.state.staff.username
    if request.method == "GET":
        def read() -> dict:
            with session_factory()() as session:
                return _entry_detail(session, faq_id)

        return await _run(read)

    def edit(body: dict) -> dict:
        data = faq_admin.parse_input(body)
        with transaction() as session:
            faq_admin.update(session, actor, faq_id, data)
            return _entry_detail(session, faq_id)

    return await _run_on_body(request, edit)


@require("admin")
async def faq_action(request: Request) -> Response:
    """POST /api/admin/faq/{id}/publish | unpublish | rollback {version}."""
    faq_id, action, actor = request.path_params["faq_id"], request.path_params["action"], request.state.staff.username
    if action not in ("publish", "unpublish", "rollback"):
        return _error("Không có thao tác này.", 404)

    def act(body: dict) -> dict:
        with transaction() as session:
            if action == "rollback":
                version = body.get("version")
                if not isinstance(version, int) or isinstance(version, bool):
                    raise ValueError("Cần số phiên bản muốn khôi phục.")
                faq_admin.rollback(session, actor, faq_id, version)
            else:
                faq_admin.set_status(session, actor, faq_id, "published" if action == "publish" else "draft")
            return _entry_detail(session, faq_id)

    return await _run_on_body(request, act)


@require("admin")
async def faq_diff(request: Request) -> Response:
    """GET /api/admin/faq/{id}/diff?from=N&to=M: the changed fields between two versions."""
    faq_id = request.path_params["faq_id"]
    try:
        old, new = int(request.query_params["from"]), int(request.query_params["to"])
    except (KeyError, ValueError):
        return _error("Cần hai số phiên bản để so sánh (from, to).", 400)

    def read() -> dict:
        with session_factory()() as session:
            return {"from": old, "to": new, "changes": faq_admin.diff(session, faq_id, old, new)}

    return await _run(read)


# --- catalogue ---

async def _upload(request: Request) -> tuple[str, bytes, bool]:
    """``{filename, content (base64), remove_missing?}``; raises BadBody."""
    most = get_settings().admin_upload_max_bytes
    # base64 makes the file a third larger; the rest of the JSON is small
    body = await json_body(request, limit=most * 4 // 3 + 1024, too_large=f"Tệp quá lớn (tối đa {most // 1_000_000} MB).")
    try:
        filename, content = body["filename"], base64.b64decode(body["content"], validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise BadBody("Cần tên tệp và nội dung tệp.") from None
    if not isinstance(filename, str) or not content:
        raise BadBody("Tệp tải lên trống.")
    return filename, content, body.get("remove_missing") is True


@require("admin")
async def catalogue_upload(request: Request) -> Response:
    """POST /api/admin/catalogue/preview (nothing written) or /import (all or nothing), same body."""
    confirm, actor = request.url.path.endswith("/import"), request.state.staff.username
    try:
        filename, content, remove_missing = await _upload(request)
    except BadBody as error:
        return error.response()

    def work() -> dict:
        batch = catalogue_admin.read_upload(filename, content)
        if not confirm:
            return {"applied": False, **catalogue_admin.dry_run(session_factory(), batch, remove_missing).as_dict()}
        with transaction() as session:
            preview = catalogue_admin.apply(session, batch, remove_missing)
            catalogue_admin.audit_import(session, actor, filename, preview)
        return {"applied": True, **preview.as_dict()}

    return await _run(work)


@require("admin")
async def procedure(request: Request) -> Response:
    """GET /api/admin/procedures/{code}; PUT {address?, channels?: {kind: {processing_time?, committed_time?, fee?}}}."""
    code, actor = request.path_params["code"], request.state.staff.username

    def read() -> dict:
        with session_factory()() as session:
            record = catalogue.get_procedure(session, code)
        if record is None:
            raise LookupError(f"Không có thủ tục mã {code} trong danh mục.")
        return record.to_dict()

    def edit(body: dict) -> dict:
        with transaction() as session:
            catalogue_admin.edit_procedure(session, actor, code, body)
        return read()

    return await _run_on_body(request, edit) if request.method == "PUT" else await _run(read)


@require("admin")
async def export(request: Request) -> Response:
    """GET /api/admin/export/{faq|catalogue}.{csv|xlsx}"""
    what, fmt, actor = request.path_params["what"], request.path_params["fmt"], request.state.staff.username

    def work() -> Response:
        with transaction() as session:
            content, media, name = exports.export(session, what, fmt)
            session.add(AuditLog(actor=actor, action="knowledge_exported", target=name))
        return Response(content, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"',
                                                            "Cache-Control": "no-store"})

    return await _run(work)


@require("admin")
async def training(request: Request) -> Response:
    """GET /api/admin/training: the current or last retraining; POST {force?} starts one (202; 200 if one runs)."""
    from bot import train_job

    if request.method == "GET":
        job = train_job.current()
        return JSONResponse({"job": job.as_dict() if job else None})
    try:
        body = await json_body(request)
    except BadBody as error:
        return error.response()
    actor = request.state.staff.username
    job, started = train_job.start(actor, force=body.get("force") is True)
    if started:
        def audit() -> None:
            with transaction() as session:
                session.add(AuditLog(actor=actor, action="training_started", target="model"))

        await run_in_threadpool(audit)
    return JSONResponse({"job": job.as_dict(), "started": started}, status_code=202 if started else 200)


routes = [
    Route("/api/admin/training", training, methods=["GET", "POST"]),
    Route("/api/admin/faq", faq_list, methods=["GET", "POST"]),
    Route("/api/admin/faq/{faq_id:int}", faq_entry, methods=["GET", "PUT"]),
    Route("/api/admin/faq/{faq_id:int}/diff", faq_diff, methods=["GET"]),
    Route("/api/admin/faq/{faq_id:int}/{action:str}", faq_action, methods=["POST"]),
    Route("/api/admin/catalogue/preview", catalogue_upload, methods=["POST"]),
    Route("/api/admin/catalogue/import", catalogue_upload, methods=["POST"]),
    Route("/api/admin/procedures/{code:str}", procedure, methods=["GET", "PUT"]),
    Route("/api/admin/export/{what:str}.{fmt:str}", export, methods=["GET"]),
]
