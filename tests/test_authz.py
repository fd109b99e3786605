"""Authorisation sweep over every route the gateway declares: staff routes refuse strangers, operators stay out of
admin routes, state changes need the CSRF token and same-site origin, staff WebSockets refuse before accepting.

The routes come from ``bot.app.create_app()``, so a new endpoint is swept without touching this file; a new
top-level path that is neither public by design nor under a staff prefix fails ``test_every_route_is_classified``.
Forged webhooks: tests/test_telegram.py (wrong secret → 403), tests/test_zalo.py (forged/stale event → 403), and
tests/test_fuzz_webhooks_*.py with random bodies. Tracking-code enumeration: tests/test_dialogue_actions.py
(``test_failed_lookups_are_limited_per_sender``, ``..._still_limited_by_address``)."""
from __future__ import annotations

from typing import Iterator

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from bot import auth
from security_helpers import STATE_CHANGING, Endpoint, endpoints, module_env, row_counts, unclassified
from staff_helpers import client, make_staff, signed_in

SAME_SITE = {"origin": "http://testserver"}
STAFF = [e for e in endpoints() if e.role is not None]
ADMIN_ONLY = [e for e in STAFF if e.role == "admin"]
HTTP_STAFF = [(e, m) for e in STAFF if not e.websocket for m in e.methods]
CHANGES = [(e, m) for e, m in HTTP_STAFF if m in STATE_CHANGING]


def _id(item) -> str:
    endpoint, method = item if isinstance(item, tuple) else (item, "WS")
    return f"{method} {endpoint.path}"


@pytest.fixture(scope="module")
def hcc_env(tmp_path_factory) -> Iterator[str]:
    """One SQLite database for the whole sweep (authorisation does not depend on the backend): hundreds of requests."""
    with module_env(tmp_path_factory.mktemp("authz")) as url:
        yield url


@pytest.fixture(scope="module")
def staff(hcc_env) -> dict[str, tuple[TestClient, str]]:
    make_staff("quantri", role="admin")
    make_staff("lan")
    return {"admin": signed_in("quantri"), "operator": signed_in("lan")}


def _refusal(endpoint: Endpoint, response, status: int) -> None:
    """An API answers ``status`` with a Vietnamese JSON error; a page the login redirect (401) or an error page."""
    assert "Traceback" not in response.text
    if endpoint.page and status == 401:
        assert response.status_code == 303 and "/login?next=" in response.headers["location"]
    else:
        assert response.status_code == status, response.text
        if not endpoint.page:
            assert response.json()["error"]


def _websocket_close(browser: TestClient, url: str, headers: dict) -> int:
    with pytest.raises(WebSocketDisconnect) as refused:
        with browser.websocket_connect(url, headers=headers) as socket:
            socket.receive_json()  # an accepted socket would send its hello
    return refused.value.code


def test_every_route_is_classified():
    assert STAFF and ADMIN_ONLY and CHANGES  # the sweep below is not empty
    assert unclassified() == [], "new top-level routes: put them under a staff prefix or add them to security_helpers.PUBLIC"


@pytest.mark.parametrize("item", HTTP_STAFF, ids=_id)
def test_a_stranger_is_refused_every_staff_route(staff, hcc_env, item):
    endpoint, method = item
    browser = client()
    before = row_counts(hcc_env)
    _refusal(endpoint, browser.request(method, endpoint.url, json={}, headers=SAME_SITE, follow_redirects=False), 401)
    browser.cookies.set(auth.COOKIE, "forged-session-token")  # a made-up cookie is no better
    _refusal(endpoint, browser.request(method, endpoint.url, json={}, headers=SAME_SITE, follow_redirects=False), 401)
    assert row_counts(hcc_env) == before


@pytest.mark.parametrize("item", [(e, m) for e, m in HTTP_STAFF if e.role == "admin"], ids=_id)
def test_an_operator_is_refused_every_admin_route(staff, hcc_env, item):
    endpoint, method = item
    browser, csrf = staff["operator"]
    before = row_counts(hcc_env)
    response = browser.request(method, endpoint.url, json={}, headers={**SAME_SITE, auth.CSRF_HEADER: csrf},
                               follow_redirects=False)
    _refusal(endpoint, response, 403)
    assert row_counts(hcc_env) == before


@pytest.mark.parametrize("item", CHANGES, ids=_id)
def test_state_changes_without_the_csrf_token_or_from_another_site_are_refused(staff, hcc_env, item):
    endpoint, method = item
    browser, csrf = staff[endpoint.role]
    before = row_counts(hcc_env)
    for headers in (SAME_SITE, {**SAME_SITE, auth.CSRF_HEADER: csrf[:-2] + "xx"},
                    {"origin": "https://evil.example", auth.CSRF_HEADER: csrf}):
        response = browser.request(method, endpoint.url, json={}, headers=headers, follow_redirects=False)
        _refusal(endpoint, response, 403)
    assert row_counts(hcc_env) == before
    assert browser.get("/api/auth/me").status_code == 200  # the session itself still stands


@pytest.mark.parametrize("item", [(e, m) for e, m in HTTP_STAFF if m == "GET"], ids=_id)
def test_the_right_role_gets_past_the_guard_without_a_server_error(staff, item):
    endpoint, _ = item
    browser, _ = staff[endpoint.role]
    response = browser.get(endpoint.url, follow_redirects=False)
    assert response.status_code not in (401, 403, 500) and "Traceback" not in response.text


@pytest.mark.parametrize("endpoint", [e for e in STAFF if e.websocket], ids=_id)
def test_staff_websockets_refuse_strangers_wrong_roles_and_other_sites(staff, endpoint):
    stranger = client()
    assert _websocket_close(stranger, endpoint.url, SAME_SITE) == 4401
    stranger.cookies.set(auth.COOKIE, "forged-session-token")
    assert _websocket_close(stranger, endpoint.url, SAME_SITE) == 4401
    browser, _ = staff[endpoint.role]
    assert _websocket_close(browser, endpoint.url, {"origin": "https://evil.example"}) == 4403
    assert _websocket_close(browser, endpoint.url, {}) == 4403
    if endpoint.role == "admin":
        assert _websocket_close(staff["operator"][0], endpoint.url, SAME_SITE) == 4403
