"""The staff pages: login, the operator console shell (/console) and the admin page (/admin), and their files."""
from __future__ import annotations

import html
import re
from string import Template

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Route

from bot.auth import PAGE_HEADERS, STATIC, require
from bot.settings import get_settings

# Any script, style or icon dropped into bot/static/console is served (the live-queue part adds its own).
ASSET = re.compile(r"^[a-z0-9][a-z0-9_-]*\.(js|css|svg)$")
MEDIA = {"js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8", "svg": "image/svg+xml"}


def staff_page(name: str) -> HTMLResponse:
    """``bot/static/console/<name>`` with the centre's name and hotline filled in (HTML-escaped)."""
    settings = get_settings()
    template = Template((STATIC / name).read_text(encoding="utf-8"))
    body = template.safe_substitute(center=html.escape(settings.center_name), hotline=html.escape(settings.hotline))
    return HTMLResponse(body, headers=PAGE_HEADERS)


async def login_page(request: Request) -> Response:
    return staff_page("login.html")


@require("operator")
async def console_page(request: Request) -> Response:
    return staff_page("console.html")


@require("admin")
async def admin_page(request: Request) -> Response:
    return staff_page("admin.html")


async def asset(request: Request) -> Response:
    name = request.path_params["name"]
    path = STATIC / name
    if not ASSET.match(name) or not path.is_file():
        return HTMLResponse("Không tìm thấy tệp.", status_code=404)
    return FileResponse(path, media_type=MEDIA[name.rsplit(".", 1)[1]],
                        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})


routes = [
    Route("/console/login", login_page, methods=["GET"]),
    Route("/admin/login", login_page, methods=["GET"]),
    Route("/console", console_page, methods=["GET"]),
    Route("/admin", admin_page, methods=["GET"]),
    Route("/console/static/{name}", asset, methods=["GET"]),
]
