"""The gateway's ASGI application: health, readiness and the channels citizens write through."""
from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot import assets, auth, dossier_notifier, rasa_client
from bot.channels import rest, telegram, widget, zalo
from bot.console import api as console_api, socket as console_socket, ticker as console_ticker
from bot.console import canned, notifications, pages, tickets
from bot.console import learning as learning_inbox, reports as report_pages
from bot.console import knowledge as knowledge_admin
from bot.settings import get_settings
from knowledge_base import catalogue
from knowledge_base.db import session_factory

log = logging.getLogger(__name__)


def _counts() -> dict:
    with session_factory()() as session:
        return catalogue.counts(session)


async def health(request: Request) -> JSONResponse:
    """Liveness plus what the knowledge base holds and whether Rasa answers; 503 only when the database cannot be read."""
    try:
        counts, rasa = await asyncio.gather(run_in_threadpool(_counts), rasa_client.ready())
    except Exception as error:  # any database failure means "not healthy", never a stack trace
        return JSONResponse({"status": "error", "database": type(error).__name__}, status_code=503)
    return JSONResponse({"status": "ok", "service": get_settings().center_name, "rasa": rasa, **counts})


async def ready(request: Request) -> JSONResponse:
    """Readiness: the database, the Rasa server (model loaded) and the action server all answer."""
    settings = get_settings()
    try:
        await run_in_threadpool(_counts)
        database = True
    except Exception:  # readiness reports, it never raises
        database = False
    rasa, actions = await asyncio.gather(rasa_client.ready(), rasa_client.reachable(f"{settings.action_url}/health"))
    checks = {"database": database, "rasa": rasa, "actions": actions}
    return JSONResponse({"ready": all(checks.values()), **checks}, status_code=200 if all(checks.values()) else 503)


async def server_error(request: Request, error: Exception) -> JSONResponse:
    """Any unhandled error: a short Vietnamese answer for the user; the trace goes to the (masked) log only."""
    log.error("unhandled %s on %s %s", type(error).__name__, request.method, request.url.path, exc_info=error)
    return JSONResponse({"error": f"Xin lỗi, hệ thống gặp sự cố ngoài dự kiến. Anh/chị vui lòng thử lại sau ít phút "
                                  f"hoặc gọi đường dây nóng {get_settings().hotline}."}, status_code=500)


@asynccontextmanager
async def lifespan(app: Starlette):
    async with telegram.running(app), zalo.running(app), console_ticker.running(app), dossier_notifier.running(app):
        yield
    await rasa_client.close()


def create_app() -> Starlette:
    return Starlette(routes=[Route("/health", health), Route("/ready", ready), *rest.routes, *telegram.routes, *zalo.routes,
                             *widget.routes, *assets.routes, *console_api.routes, *console_socket.routes,
                             *auth.routes, *pages.routes, *tickets.routes, *canned.routes,
                             *learning_inbox.routes, *report_pages.routes, *notifications.routes,
                             *knowledge_admin.routes],
                     lifespan=lifespan, exception_handlers={500: server_error})
