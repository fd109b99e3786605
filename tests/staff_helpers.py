"""Staff accounts and signed-in test clients for the console tests."""
from __future__ import annotations

from starlette.testclient import TestClient

from bot.app import create_app
from knowledge_base import staff as accounts
from knowledge_base.db import transaction

PASSWORD = "mật-khẩu-thử-123"


def make_staff(username: str, role: str = "operator", full_name: str | None = None, password: str = PASSWORD) -> None:
    with transaction() as session:
        accounts.add_staff(session, username, role, password, full_name)


def client() -> TestClient:
    return TestClient(create_app(), base_url="http://testserver")


def signed_in(username: str, password: str = PASSWORD) -> tuple[TestClient, str]:
    """A client holding ``username``'s session cookie, and the session's CSRF token."""
    browser = client()
    response = browser.post("/api/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return browser, response.json()["csrf_token"]
