"""SQL injection strings are inert everywhere text is stored or searched (SQLite and PostgreSQL), and the gateway's
log holds no secrets: no passwords or their hashes, session or CSRF tokens, bot tokens, OA secrets, and no
unmasked phone or ID-card numbers. (HTML/JS injection: tests/test_injection_browser.py.)"""
from __future__ import annotations

import io
import json
import logging

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bot import auth, logs
from bot.cli import main
from bot.settings import get_settings
from knowledge_base import conversations
from knowledge_base.db import session_factory, transaction
from knowledge_base.handoffs import request_handoff
from knowledge_base.models import CannedReply, FaqEntry, Message, StaffUser, TicketEvent
from knowledge_base.tickets import open_ticket
from security_helpers import row_counts
from staff_helpers import PASSWORD, client, make_staff, signed_in
from test_gateway import WEBHOOK, fake_rasa, rasa  # noqa: F401 (fixtures)

SQL = ["'; DROP TABLE messages; --", "\" OR \"1\"=\"1", "1' OR '1'='1' --", "x'); DELETE FROM staff_users; --",
       "' UNION SELECT password_hash, NULL FROM staff_users --", "%' AND 1=1 --", "\\'; SELECT pg_sleep(5); --",
       "Robert'); DROP TABLE tickets;--"]
SAME_SITE = {"origin": "http://testserver"}


def _tables(url: str) -> set[str]:
    return set(row_counts(url))


def test_sql_in_chat_tickets_canned_replies_and_faq_is_stored_literally(rasa, hcc_env):  # noqa: F811
    make_staff("quantri", role="admin")
    make_staff("lan")
    tables = _tables(hcc_env)
    with transaction() as session:
        number = open_ticket(session, "complaint", "Hồ sơ trễ hẹn").number
    admin, admin_csrf = signed_in("quantri")
    operator, csrf = signed_in("lan")
    from starlette.testclient import TestClient

    from bot.app import create_app

    with TestClient(create_app()) as gateway:
        for text in SQL:
            assert gateway.post(WEBHOOK, json={"sender": text[:60], "message": text}).status_code == 200
            note = operator.post(f"/api/console/tickets/{number}/notes", json={"text": text},
                                 headers={**SAME_SITE, auth.CSRF_HEADER: csrf})
            assert note.status_code == 200, note.text
            canned = admin.post("/api/admin/canned-replies", json={"title": text[:40], "text": text},
                                headers={**SAME_SITE, auth.CSRF_HEADER: admin_csrf})
            assert canned.status_code in (200, 201), canned.text
            faq = admin.post("/api/admin/faq", json={"question": f"Hỏi {text}", "answer": text},
                             headers={**SAME_SITE, auth.CSRF_HEADER: admin_csrf})
            assert faq.status_code in (201, 404), faq.text  # 404: this build has no FAQ admin API
            faq_api = faq.status_code == 201
            found = admin.get("/api/admin/faq", params={"q": text})
            assert found.status_code in (200, 404, 405)
            assert operator.get("/api/console/tickets", params={"status": text}).status_code in (200, 400)
    assert _tables(hcc_env) == tables  # nothing dropped
    with session_factory()() as session:
        inbound = set(session.scalars(select(Message.text).where(Message.direction == "in")))
        notes = {(event or {}).get("text") for event in session.scalars(select(TicketEvent.details))}
        replies = set(session.scalars(select(CannedReply.text)))
        answers = set(session.scalars(select(FaqEntry.answer)))
        assert session.query(StaffUser).count() == 2
    for text in SQL:
        assert text in inbound and text in notes and text in replies
        assert text in answers or not faq_api


def test_sql_in_a_knowledge_base_search_is_only_text(hcc_env):
    runner = CliRunner()
    assert runner.invoke(main, ["kb", "demo"]).exit_code == 0
    tables, counts = _tables(hcc_env), row_counts(hcc_env)
    for text in SQL:
        result = runner.invoke(main, ["kb", "search", "--json", text])
        assert result.exit_code == 0, result.output
        json.loads(result.output)
    assert _tables(hcc_env) == tables and row_counts(hcc_env) == counts


@pytest.fixture
def captured_log():
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    logs.configure("DEBUG", stream)
    yield stream
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in saved[0]:
        root.addHandler(handler)
    root.setLevel(saved[1])


def test_no_secrets_or_unmasked_numbers_reach_the_log(rasa, hcc_env, captured_log, monkeypatch):  # noqa: F811
    monkeypatch.setenv("HCC_ZALO_OA_SECRET", "oa-secret-never-logged")
    monkeypatch.setenv("HCC_TELEGRAM_SECRET", "telegram-secret-never-logged")
    get_settings.cache_clear()
    make_staff("lan")
    wrong = client().post("/api/auth/login", json={"username": "lan", "password": "sai-mat-khau-0912345678"})
    assert wrong.status_code == 401
    operator, csrf = signed_in("lan")
    session_token = operator.cookies[auth.COOKIE]
    phone, cccd, cmnd = "0912345678", "001099012345", "123456789"
    from starlette.testclient import TestClient

    from bot.app import create_app

    with TestClient(create_app(), raise_server_exceptions=False) as gateway:
        gateway.post(WEBHOOK, json={"sender": f"citizen-{phone}", "message": f"Số tôi là {phone}, CCCD {cccd}, CMND {cmnd}"})
        gateway.post("/webhooks/telegram", json={"update_id": 1}, headers={"X-Telegram-Bot-Api-Secret-Token": "forged"})
        gateway.post("/webhooks/zalo", content=b'{"app_id": "x"}', headers={"X-ZEvent-Signature": "mac=forged"})
        rasa.mode = "error"  # the failure path logs too
        gateway.post(WEBHOOK, json={"sender": "citizen-2", "message": f"Gọi lại {phone} giúp tôi"})
    with transaction() as session:
        conversation = conversations.get_or_create(session, "widget", f"conv-{phone}-0000000")
        handoff = request_handoff(session, conversation, "request")
    operator.post(f"/api/console/handoffs/{handoff.handoff_id}/take", headers={**SAME_SITE, auth.CSRF_HEADER: csrf})
    operator.post(f"/api/console/handoffs/{handoff.handoff_id}/notes", json={"text": f"Gọi {phone}"},
                  headers={**SAME_SITE, auth.CSRF_HEADER: csrf})
    with session_factory()() as session:
        password_hash = session.scalars(select(StaffUser.password_hash)).one()

    text = captured_log.getvalue()
    assert text.strip(), "nothing was logged: the check below would prove nothing"
    for secret in (PASSWORD, "sai-mat-khau", password_hash, session_token, csrf, "oa-secret-never-logged",
                   "telegram-secret-never-logged", phone, cccd, cmnd):
        assert secret not in text, f"{secret!r} is in the log"
    assert "09******78" in text  # the phone was logged, masked
