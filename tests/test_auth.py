"""Staff sign-in: argon2 hashes, sessions and their cookie, CSRF, login limits, roles, disabled accounts."""
from __future__ import annotations

from datetime import timedelta

import pytest
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket, WebSocketDisconnect

from bot import auth
from bot.settings import get_settings
from knowledge_base import login_limit
from knowledge_base import staff as accounts
from knowledge_base.db import session_factory, transaction
from knowledge_base.models import StaffSession
from knowledge_base.office_time import utc_naive
from staff_helpers import PASSWORD, client, make_staff, signed_in


def test_passwords_are_hashed_with_argon2id_and_salted():
    first, second = accounts.hash_password(PASSWORD), accounts.hash_password(PASSWORD)
    assert first.startswith("$argon2id$") and PASSWORD not in first
    assert first != second  # a fresh salt each time
    assert accounts.verify_password(first, PASSWORD)
    assert not accounts.verify_password(first, PASSWORD + "x")
    assert not accounts.verify_password("không phải mã băm", PASSWORD)


def test_weak_passwords_and_bad_names_are_refused(session):
    with pytest.raises(ValueError, match="ít nhất 10 ký tự"):
        accounts.add_staff(session, "lan", "operator", "ngan")
    with pytest.raises(ValueError, match="Tên đăng nhập"):
        accounts.add_staff(session, "Lan Nguyễn", "operator", PASSWORD)
    with pytest.raises(ValueError, match="Vai trò"):
        accounts.add_staff(session, "lan", "root", PASSWORD)
    assert accounts.list_staff(session) == []


def test_login_sets_a_strict_httponly_session_cookie(hcc_env):
    make_staff("lan", full_name="Nguyễn Thị Lan")
    response = client().post("/api/auth/login", json={"username": "Lan", "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert (body["username"], body["role"], body["home"]) == ("lan", "operator", "/console")
    cookie = response.headers["set-cookie"].lower()
    assert cookie.startswith(f"{auth.COOKIE}=") and "httponly" in cookie and "samesite=strict" in cookie
    assert "secure" not in cookie.replace("samesite", "")
    with session_factory()() as session:
        stored = session.query(StaffSession).one()
    token = response.cookies[auth.COOKIE]
    assert token not in (stored.token_hash, stored.csrf_token)  # only the token's hash is kept


def test_cookie_is_secure_when_configured(hcc_env, monkeypatch):
    monkeypatch.setenv("HCC_COOKIE_SECURE", "1")
    get_settings.cache_clear()
    make_staff("lan")
    response = client().post("/api/auth/login", json={"username": "lan", "password": PASSWORD})
    assert "secure" in response.headers["set-cookie"].lower().replace("samesite", "")


def test_bad_credentials_get_one_vietnamese_answer(hcc_env):
    make_staff("lan")
    browser = client()
    wrong = browser.post("/api/auth/login", json={"username": "lan", "password": "sai-mat-khau-roi"})
    unknown = browser.post("/api/auth/login", json={"username": "khong-co", "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()  # no hint which of the two was wrong
    assert "không đúng" in wrong.json()["error"]
    assert auth.COOKIE not in browser.cookies
    assert browser.get("/api/auth/me").status_code == 401
    # A name no database can look up (PostgreSQL refuses NUL) is only another unknown name.
    for name in ("lan\\u0000", "\\ud800"):  # JSON escapes, as a script would send them
        odd = browser.post("/api/auth/login", content=f'{{"username": "{name}", "password": "{PASSWORD}"}}',
                           headers={"content-type": "application/json"})
        assert (odd.status_code, odd.json()) == (401, unknown.json())


def test_login_only_takes_json(hcc_env):
    make_staff("lan")
    form = client().post("/api/auth/login", data={"username": "lan", "password": PASSWORD})
    assert form.status_code == 400 and auth.COOKIE not in form.cookies


def test_failed_logins_are_limited_per_username(hcc_env, monkeypatch):
    monkeypatch.setenv("HCC_LOGIN_LIMIT", "3")
    get_settings.cache_clear()
    make_staff("lan")
    make_staff("minh")
    browser = client()
    for _ in range(3):
        assert browser.post("/api/auth/login", json={"username": "lan", "password": "doan-mo-mat-khau"}).status_code == 401
    blocked = browser.post("/api/auth/login", json={"username": "lan", "password": PASSWORD})
    assert blocked.status_code == 429 and "thử lại sau" in blocked.json()["error"]
    assert int(blocked.headers["retry-after"]) > 0
    assert browser.post("/api/auth/login", json={"username": "minh", "password": PASSWORD}).status_code == 200


def test_failed_logins_are_limited_per_client_address(hcc_env, monkeypatch):
    monkeypatch.setenv("HCC_LOGIN_IP_LIMIT", "4")
    get_settings.cache_clear()
    make_staff("lan")
    browser = client()
    for name in ("an", "binh", "chi", "dung"):  # one try each: only the address's count can block
        assert browser.post("/api/auth/login", json={"username": name, "password": PASSWORD}).status_code == 401
    assert browser.post("/api/auth/login", json={"username": "lan", "password": PASSWORD}).status_code == 429


def test_the_login_limit_expires_with_its_window(session, monkeypatch):
    monkeypatch.setenv("HCC_LOGIN_LIMIT", "2")
    get_settings.cache_clear()
    start = utc_naive()
    for minute in (0, 1):
        login_limit.record(session, "lan", "10.0.0.1", ok=False, now=start + timedelta(minutes=minute))
    window = get_settings().login_window_minutes
    assert login_limit.retry_after_seconds(session, "lan", "10.0.0.2", now=start + timedelta(minutes=2)) > 0
    later = start + timedelta(minutes=window + 1, seconds=1)
    assert login_limit.retry_after_seconds(session, "lan", "10.0.0.2", now=later) == 0


def test_logout_ends_the_session_on_the_server(hcc_env):
    make_staff("lan")
    browser, csrf = signed_in("lan")
    token = browser.cookies[auth.COOKIE]
    response = browser.post("/api/auth/logout", headers={"X-CSRF-Token": csrf})
    assert response.status_code == 200
    assert browser.get("/api/auth/me").status_code == 401
    replay = client()
    replay.cookies.set(auth.COOKIE, token)  # the old cookie, kept by an attacker, opens nothing
    assert replay.get("/api/auth/me").status_code == 401
    assert replay.get("/console", follow_redirects=False).status_code == 303


def test_state_changes_need_the_csrf_token(hcc_env):
    make_staff("lan")
    browser, csrf = signed_in("lan")
    assert browser.post("/api/auth/logout").status_code == 403
    assert "CSRF" in browser.post("/api/auth/logout", headers={"X-CSRF-Token": "doan-bua"}).json()["error"]
    foreign = browser.post("/api/auth/logout", headers={"X-CSRF-Token": csrf, "Origin": "https://evil.example"})
    assert foreign.status_code == 403
    assert browser.get("/api/auth/me").status_code == 200  # none of the refused ones logged out
    assert browser.post("/api/auth/logout", headers={"X-CSRF-Token": csrf, "Origin": "http://testserver"}).status_code == 200


def test_an_operator_cannot_open_admin_pages_or_endpoints(hcc_env):
    make_staff("lan")
    browser, csrf = signed_in("lan")
    page = browser.get("/admin", follow_redirects=False)
    assert page.status_code == 403 and "không có quyền" in page.text
    assert browser.get("/api/admin/canned-replies").status_code == 403
    created = browser.post("/api/admin/canned-replies", json={"title": "Chào", "text": "Xin chào"}, headers={"X-CSRF-Token": csrf})
    assert created.status_code == 403
    assert browser.get("/console").status_code == 200


def test_an_admin_manages_canned_replies_that_operators_read(hcc_env):
    make_staff("quantri", role="admin")
    make_staff("lan")
    admin, csrf = signed_in("quantri")
    assert admin.get("/admin").status_code == 200 and admin.get("/console").status_code == 200
    headers = {"X-CSRF-Token": csrf}
    bad = admin.post("/api/admin/canned-replies", json={"title": " ", "text": "x"}, headers=headers)
    assert bad.status_code == 400 and "tiêu đề" in bad.json()["error"]
    made = admin.post("/api/admin/canned-replies", json={"title": "Chào hỏi", "text": "Xin chào anh/chị.", "position": 2}, headers=headers)
    assert made.status_code == 201
    reply_id = made.json()["id"]
    admin.post("/api/admin/canned-replies", json={"title": "Lệ phí", "text": "Lệ phí theo quy định.", "position": 1}, headers=headers)
    edited = admin.put(f"/api/admin/canned-replies/{reply_id}", json={"title": "Chào", "text": "Kính chào anh/chị.", "position": 2}, headers=headers)
    assert edited.json()["text"] == "Kính chào anh/chị."
    operator, _ = signed_in("lan")
    replies = operator.get("/api/console/canned-replies").json()["replies"]
    assert [r["title"] for r in replies] == ["Lệ phí", "Chào"]
    assert admin.delete(f"/api/admin/canned-replies/{reply_id}", headers=headers).status_code == 200
    assert [r["title"] for r in operator.get("/api/console/canned-replies").json()["replies"]] == ["Lệ phí"]
    assert admin.delete(f"/api/admin/canned-replies/{reply_id}", headers=headers).status_code == 404


def test_pages_send_strangers_to_the_login_page(hcc_env):
    browser = client()
    for page, login in (("/console", "/console/login"), ("/admin", "/admin/login")):
        response = browser.get(page, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith(login)
    login_page = browser.get("/console/login")
    assert login_page.status_code == 200 and "Đăng nhập" in login_page.text
    assert "frame-ancestors 'none'" in login_page.headers["content-security-policy"]
    assert browser.get("/api/console/tickets").status_code == 401


def test_a_disabled_account_loses_its_sessions_and_cannot_log_in(hcc_env):
    make_staff("lan")
    browser, _ = signed_in("lan")
    with transaction() as session:
        accounts.set_active(session, "lan", False)
    assert browser.get("/api/auth/me").status_code == 401
    refused = client().post("/api/auth/login", json={"username": "lan", "password": PASSWORD})
    assert refused.status_code == 401


def _socket_app() -> Starlette:
    async def endpoint(websocket: WebSocket) -> None:
        staff = await auth.staff_for_websocket(websocket, "admin")
        if staff is None:
            return
        await websocket.accept()
        await websocket.send_json({"username": staff.username})
        await websocket.close()

    return Starlette(routes=[WebSocketRoute("/ws", endpoint)])


def test_websockets_check_session_role_and_origin(hcc_env):
    make_staff("quantri", role="admin")
    make_staff("lan")
    admin, _ = signed_in("quantri")
    operator, _ = signed_in("lan")
    sockets = TestClient(_socket_app(), base_url="http://testserver")
    same = {"origin": "http://testserver"}

    def connect(cookie: str | None, headers: dict) -> dict:
        sockets.cookies.clear()
        if cookie:
            sockets.cookies.set(auth.COOKIE, cookie)
        with sockets.websocket_connect("/ws", headers=headers) as socket:
            return socket.receive_json()

    assert connect(admin.cookies[auth.COOKIE], same) == {"username": "quantri"}
    for cookie, headers in ((None, same), (operator.cookies[auth.COOKIE], same),
                            (admin.cookies[auth.COOKIE], {"origin": "https://evil.example"}),
                            (admin.cookies[auth.COOKIE], {})):
        with pytest.raises(WebSocketDisconnect):
            connect(cookie, headers)
