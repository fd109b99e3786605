"""The gateway's health page."""
from starlette.testclient import TestClient

from bot.app import create_app


def test_health_reports_ok_and_what_the_knowledge_base_holds(hcc_env):
    with TestClient(create_app()) as client:
        response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["procedures"] == 0


def test_health_is_503_when_the_database_is_unreachable(monkeypatch, tmp_path):
    from bot.settings import get_settings

    monkeypatch.setenv("HCC_DATABASE_URL", "postgresql+psycopg2://nobody@127.0.0.1:1/none")
    get_settings.cache_clear()
    try:
        with TestClient(create_app()) as client:
            response = client.get("/health")
    finally:
        get_settings.cache_clear()
    assert response.status_code == 503 and response.json()["status"] == "error"
