"""The widget's static files (``/widget.js``, ``/widget/...``) and the full-page chat at ``/``."""
from __future__ import annotations

import html
from pathlib import Path
from string import Template

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse
from starlette.routing import Route

from bot.settings import get_settings

STATIC = Path(__file__).resolve().parent / "static"
FILES = {"widget.css": "text/css; charset=utf-8", "avatar.svg": "image/svg+xml"}
# Embedding pages load the script from us; revalidating each time lets a new version reach them at once.
REVALIDATE = {"Cache-Control": "no-cache"}


async def page(request: Request) -> HTMLResponse:
    """The full-page chat: the widget script in page mode, titled with the center's name."""
    settings = get_settings()
    template = Template((STATIC / "index.html").read_text(encoding="utf-8"))
    body = template.substitute(center=html.escape(settings.center_name), hotline=html.escape(settings.hotline))
    return HTMLResponse(body, headers=REVALIDATE)


async def script(request: Request) -> FileResponse:
    return FileResponse(STATIC / "widget.js", media_type="text/javascript; charset=utf-8", headers=REVALIDATE)


async def asset(request: Request) -> FileResponse | HTMLResponse:
    name = request.path_params["name"]
    if name not in FILES:
        return HTMLResponse("Không tìm thấy tệp.", status_code=404)
    return FileResponse(STATIC / name, media_type=FILES[name], headers=REVALIDATE)


routes = [Route("/", page), Route("/widget.js", script), Route("/widget/{name}", asset)]
