"""The learning inbox API for admins: grouped items, and the four ways out of the inbox."""
from __future__ import annotations

from functools import lru_cache
from typing import Callable

import yaml
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from sqlalchemy.orm import Session

from bot.auth import require
from bot.json_body import BadBody, json_body, text_field
from bot.settings import PROJECT_ROOT, get_settings
from knowledge_base import learning
from knowledge_base.db import transaction
from knowledge_base.learning_groups import group_items

# Intents an admin may teach: the domain's, less the ones only buttons and forms send.
UNTEACHABLE = frozenset({"inform", "confirm_phone", "rate_service"})


@lru_cache(maxsize=1)
def teachable_intents() -> frozenset[str]:
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8")) or {}
    return frozenset(str(name) for name in domain.get("intents") or []) - UNTEACHABLE


def _inbox(kind: str | None) -> dict:
    with transaction() as session:
        learning.collect(session)
        items = learning.open_items(session, kind)
        groups = [group.as_dict() for group in group_items(items)]
    return {"groups": groups, "total": len(items), "kinds": learning.KINDS,
            "intents": sorted(teachable_intents())}


@require("admin")
async def inbox(request: Request) -> Response:
    """GET /api/admin/learning?kind=: open items grouped by similar text, newest group first."""
    try:
        return JSONResponse(await run_in_threadpool(_inbox, request.query_params.get("kind") or None))
    except learning.LearningError as error:
        return JSONResponse({"error": str(error)}, status_code=400)


def _faq(session: Session, body: dict, actor: str) -> dict:
    entry = learning.create_faq_draft(session, body.get("ids"), actor, text_field(body, "question"))
    return {"ok": True, "faq_id": entry.id, "message": f"Đã tạo bản nháp câu hỏi thường gặp số {entry.id}. "
                                                       "Vui lòng viết câu trả lời rồi xuất bản."}


def _training(session: Session, body: dict, actor: str) -> dict:
    intent = text_field(body, "intent")
    texts = learning.add_training_examples(session, body.get("ids"), intent, teachable_intents(), actor)
    written = learning.export_training(session, get_settings().nlu_inbox_file)
    return {"ok": True, "examples": texts, "exported": written,
            "message": f"Đã thêm {len(texts)} câu huấn luyện cho ý định «{intent}». Cần huấn luyện lại mô hình để áp dụng."}


def _alias(session: Session, body: dict, actor: str) -> dict:
    procedure = learning.link_alias(session, body.get("ids"), text_field(body, "code"), actor, text_field(body, "alias"))
    return {"ok": True, "code": procedure.code,
            "message": f"Đã gắn tên gọi vào thủ tục «{' '.join(procedure.name.split())}» (mã {procedure.code})."}


def _dismiss(session: Session, body: dict, actor: str) -> dict:
    learning.dismiss(session, body.get("ids"), actor)
    return {"ok": True, "message": "Đã bỏ qua các mục đã chọn."}


ACTIONS: dict[str, Callable[[Session, dict, str], dict]] = {
    "faq": _faq, "training": _training, "alias": _alias, "dismiss": _dismiss}


@require("admin")
async def act(request: Request) -> Response:
    """POST /api/admin/learning/{action} {ids, …}: faq {question?}, training {intent}, alias {code, alias?}, dismiss."""
    action = ACTIONS.get(request.path_params["action"])
    if action is None:
        return JSONResponse({"error": "Thao tác không hợp lệ."}, status_code=404)

    def run(body: dict) -> dict:
        with transaction() as session:
            return action(session, body, request.state.staff.username)

    try:
        done = await run_in_threadpool(run, await json_body(request))
    except BadBody as error:
        return error.response()
    except learning.LearningError as error:
        return JSONResponse({"error": str(error)}, status_code=400)
    return JSONResponse(done)


routes = [
    Route("/api/admin/learning", inbox, methods=["GET"]),
    Route("/api/admin/learning/{action}", act, methods=["POST"]),
]
