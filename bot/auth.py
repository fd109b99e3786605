"""Staff sign-in for the operator console and the admin pages: sessions, roles, CSRF, login limits.

Contract (for every console/admin endpoint and WebSocket):

- ``await staff_from(connection) -> Staff | None`` — the signed-in, active staff member of a Request or
  WebSocket (from the HttpOnly session cookie), else None. Cached on the connection; ``fresh=True`` re-reads
  (e.g. a long-lived WebSocket checking its session still stands after a logout or a disabled account).
- ``@require("operator")`` / ``@require("admin")`` on an ``async def endpoint(request)``: 401 when not signed in
  (a redirect to the login page for pages), 403 for the wrong role, and for POST/PUT/PATCH/DELETE 403 unless the
  ``X-CSRF-Token`` header holds the session's token. The endpoint finds the staff member in ``request.state.staff``.
  "operator" admits operators and admins; "admin" only admins.
- ``await check_csrf(request) -> bool`` — the same CSRF check, for code that guards itself.
- ``await staff_for_websocket(websocket, role) -> Staff | None`` — call before ``accept()``: checks the
  session, the role and that the Origin is this host; on None the handshake has already been refused.
- Pages get the CSRF token from ``GET /api/auth/me`` (``csrf_token``); ``/console/static/console.js`` does it
  and exposes ``HCC.api(method, url, body)`` that sends it.
"""
from __future__ import annotations

import functools
import html
import hmac
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Awaitable, Callable
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.websockets import WebSocket

from bot.origins import same_origin
from bot.settings import get_settings
from knowledge_base import login_limit, staff_sessions
from knowledge_base import staff as accounts
from knowledge_base.db import session_factory, transaction
from knowledge_base.models import AuditLog

COOKIE = "hcc_staff"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ROLE_RANK = {"operator": 1, "admin": 2}
HOME = {"operator": "/console", "admin": "/admin"}
STATIC = Path(__file__).resolve().parent / "static" / "console"
# Staff pages: never cached, never framed, scripts only from this site.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
}
MAX_FIELD = 256  # username and password lengths accepted at login; longer is refused unread

Endpoint = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class Staff:
    id: int
    username: str
    full_name: str
    role: str  # operator | admin
    csrf_token: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def may(self, role: str) -> bool:
        return ROLE_RANK.get(self.role, 0) >= ROLE_RANK[role]

    def public(self) -> dict:
        return {"username": self.username, "full_name": self.full_name, "role": self.role,
                "role_label": accounts.ROLE_LABELS.get(self.role, self.role), "csrf_token": self.csrf_token,
                "home": HOME.get(self.role, "/console")}


def client_address(connection: HTTPConnection) -> str | None:
    return connection.client.host if connection.client else None


def _lookup(token: str | None) -> Staff | None:
    with transaction() as session:
        found = staff_sessions.resolve(session, token)
        if found is None:
            return None
        user, live = found
        return Staff(user.id, user.username, user.full_name, user.role, live.csrf_token)


async def staff_from(connection: HTTPConnection, fresh: bool = False) -> Staff | None:
    """The signed-in staff member of a Request or WebSocket, or None."""
    if not fresh and "hcc_staff" in connection.scope.get("state", {}):
        return connection.scope["state"]["hcc_staff"]
    staff = await run_in_threadpool(_lookup, connection.cookies.get(COOKIE))
    connection.scope.setdefault("state", {})["hcc_staff"] = staff
    return staff


async def check_csrf(request: Request) -> bool:
    """Whether a state-changing request carries its session's CSRF token (and comes from this site)."""
    staff = await staff_from(request)
    if staff is None or not same_origin(request):
        return False
    presented = request.headers.get(CSRF_HEADER, "")
    return bool(presented) and hmac.compare_digest(presented.encode(), staff.csrf_token.encode())


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _login_page(request: Request) -> str:
    base = "/admin/login" if request.url.path.startswith("/admin") else "/console/login"
    return f"{base}?next={quote(request.url.path)}"


def refuse(request: Request, status: int, message: str) -> Response:
    """JSON for the APIs; for pages the login page (401) or a short Vietnamese error page."""
    if _is_api(request):
        return JSONResponse({"error": message}, status_code=status)
    if status == 401:
        return RedirectResponse(_login_page(request), status_code=303)
    page = Template((STATIC / "error.html").read_text(encoding="utf-8"))
    body = page.substitute(message=html.escape(message), center=html.escape(get_settings().center_name))
    return HTMLResponse(body, status_code=status, headers=PAGE_HEADERS)


def require(role: str = "operator") -> Callable[[Endpoint], Endpoint]:
    """Decorator: only signed-in staff of ``role`` (or above), with a CSRF token on state-changing methods."""
    if role not in ROLE_RANK:
        raise ValueError(f"unknown role {role!r}")

    def wrap(endpoint: Endpoint) -> Endpoint:
        @functools.wraps(endpoint)
        async def guarded(request: Request) -> Response:
            staff = await staff_from(request)
            if staff is None:
                return refuse(request, 401, "Phiên đăng nhập đã hết hoặc chưa đăng nhập. Vui lòng đăng nhập lại.")
            if not staff.may(role):
                return refuse(request, 403, "Tài khoản của anh/chị không có quyền truy cập chức năng này.")
            if request.method not in SAFE_METHODS and not await check_csrf(request):
                return refuse(request, 403, "Yêu cầu bị từ chối vì thiếu mã bảo vệ (CSRF). Vui lòng tải lại trang rồi thử lại.")
            request.state.staff = staff
            return await endpoint(request)

        return guarded

    return wrap


async def staff_for_websocket(websocket: WebSocket, role: str = "operator") -> Staff | None:
    """The staff member behind a WebSocket handshake, or None after refusing it (call before accept())."""
    staff = await staff_from(websocket)
    # Browsers always send Origin on WebSockets, and SameSite does not cover every browser: check it here.
    if staff is None or not staff.may(role) or websocket.headers.get("origin") is None or not same_origin(websocket):
        await websocket.close(code=4403 if staff is not None else 4401)
        return None
    return staff


def _set_cookie(response: Response, token: str) -> None:
    settings = get_settings()
    response.set_cookie(COOKIE, token, max_age=settings.session_hours * 3600, path="/", httponly=True,
                        samesite="strict", secure=settings.cookie_secure)


def _login(username: str, password: str, client: str | None) -> tuple[int, dict, str | None]:
    """(HTTP status, body, cookie token) of one login attempt; every attempt is audited."""
    name = accounts.normal_username(username)
    with session_factory()() as session, session.begin():
        wait = login_limit.retry_after_seconds(session, name, client)
        if wait:
            minutes = max(1, (wait + 59) // 60)
            return 429, {"error": f"Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau {minutes} phút.",
                         "retry_after": wait}, None
        user = accounts.authenticate(session, name, password)
        login_limit.record(session, name, client, ok=user is not None)
        if user is None:
            return 401, {"error": "Tên đăng nhập hoặc mật khẩu không đúng (hoặc tài khoản đã bị khóa)."}, None
        opened = staff_sessions.open_session(session, user, client)
        staff = Staff(user.id, user.username, user.full_name, user.role, opened.csrf_token)
        return 200, staff.public(), opened.token


async def login(request: Request) -> Response:
    """POST /api/auth/login {username, password} (JSON only, so no cross-site form can post it)."""
    if not request.headers.get("content-type", "").startswith("application/json") or not same_origin(request):
        return JSONResponse({"error": "Yêu cầu đăng nhập không hợp lệ."}, status_code=400)
    try:
        body = await request.json()
        username, password = body.get("username"), body.get("password")
    except (ValueError, AttributeError):
        return JSONResponse({"error": "Yêu cầu đăng nhập không hợp lệ."}, status_code=400)
    if not isinstance(username, str) or not isinstance(password, str) or not username.strip() or not password:
        return JSONResponse({"error": "Vui lòng nhập tên đăng nhập và mật khẩu."}, status_code=400)
    if len(username) > MAX_FIELD or len(password) > MAX_FIELD:
        return JSONResponse({"error": "Tên đăng nhập hoặc mật khẩu không đúng (hoặc tài khoản đã bị khóa)."}, status_code=401)
    status, payload, token = await run_in_threadpool(_login, username, password, client_address(request))
    headers = {"Retry-After": str(payload["retry_after"])} if status == 429 else None
    response = JSONResponse(payload, status_code=status, headers=headers)
    if token:
        _set_cookie(response, token)
    return response


def _logout(token: str | None, username: str) -> None:
    with transaction() as session:
        staff_sessions.end(session, token)
        session.add(AuditLog(actor=username, action="logout"))


@require("operator")
async def logout(request: Request) -> Response:
    """POST /api/auth/logout: the session ends server-side and the cookie is cleared."""
    await run_in_threadpool(_logout, request.cookies.get(COOKIE), request.state.staff.username)
    response = JSONResponse({"ok": True, "next": "/console/login"})
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=get_settings().cookie_secure)
    return response


@require("operator")
async def me(request: Request) -> Response:
    """GET /api/auth/me: who is signed in, with the CSRF token the page must send back."""
    return JSONResponse(request.state.staff.public(), headers={"Cache-Control": "no-store"})


routes = [
    Route("/api/auth/login", login, methods=["POST"]),
    Route("/api/auth/logout", logout, methods=["POST"]),
    Route("/api/auth/me", me, methods=["GET"]),
]
