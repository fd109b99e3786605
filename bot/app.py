"""The gateway's ASGI application (health for now; channels arrive with their issue)."""
from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.settings import get_settings
from knowledge_base import catalogue
from knowledge_base.db import session_factory


async def health(request: Request) -> JSONResponse:
    """Liveness plus what the knowledge base holds; 503 when the database cannot be read."""
    try:
        with session_factory()() as session:
            counts = catalogue.counts(session)
    except Exception as error:  # any database failure means "not healthy", never a stack trace
        return JSONResponse({"status": "error", "database": type(error).__name__}, status_code=503)
    return JSONResponse({"status": "ok", "service": get_settings().center_name, **counts})


def create_app() -> Starlette:
    return Starlette(routes=[Route("/health", health)])
