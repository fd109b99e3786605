"""Administrators' view of dossier notifications: how many were sent, failed, are waiting or were cancelled."""
from __future__ import annotations

from datetime import timedelta

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.auth import require
from knowledge_base import dossier_notifications, dossier_subscriptions
from knowledge_base.db import session_factory
from knowledge_base.office_time import utc_naive

MAX_DAYS = 3660


def _figures(days: int | None) -> dict:
    with session_factory()() as session:
        since = utc_naive() - timedelta(days=days) if days else None
        return {**dossier_notifications.counts(session, since),
                "subscribed_dossiers": len(dossier_subscriptions.active_codes(session)), "days": days}


@require("admin")
async def figures(request: Request) -> JSONResponse:
    """``GET /api/admin/dossier-notifications?days=N``: counts by state, of the last N days (all when absent)."""
    raw = request.query_params.get("days", "").strip()
    if raw and not (raw.isdigit() and 1 <= int(raw) <= MAX_DAYS):
        return JSONResponse({"error": f"Số ngày phải là số nguyên từ 1 đến {MAX_DAYS}."}, status_code=400)
    return JSONResponse(await run_in_threadpool(_figures, int(raw) if raw else None))


routes = [Route("/api/admin/dossier-notifications", figures)]
