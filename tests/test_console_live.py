"""The console over HTTP and WebSocket (Starlette TestClient): take, live messages both ways, close, grace requeue."""
from __future__ import annotations

import time

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from bot.app import create_app
from bot.settings import get_settings
from knowledge_base.conversations import get_or_create, record_message
from knowledge_base.db import transaction
from knowledge_base.handoffs import request_handoff
from knowledge_base.models import Conversation, Handoff, Message
from knowledge_base.staff import add_staff
from knowledge_base.staff_sessions import open_session

pytestmark = pytest.mark.timeout(60)

CITIZEN = "console-citizen-0001"
ORIGIN = {"origin": "http://testserver"}
RATE = ['/rate_service{"rating_level": "rat_hai_long"}', '/rate_service{"rating_level": "hai_long"}',
        '/rate_service{"rating_level": "khong_hai_long"}']


@pytest.fixture
def desk(hcc_env, monkeypatch):
    monkeypatch.setenv("HCC_CONSOLE_TICK_SECONDS", "0.1")
    monkeypatch.setenv("HCC_OPERATOR_GRACE_SECONDS", "1")
    get_settings.cache_clear()
    logins = {}
    with transaction() as session:
        for username, role in (("lan", "operator"), ("minh", "operator"), ("sep", "admin")):
            staff = add_staff(session, username, role, "mat-khau-dai-du-10", full_name=f"Nguyễn {username.title()}")
            logins[username] = open_session(session, staff, "test")
        conversation = get_or_create(session, "widget", CITIZEN)
        record_message(session, conversation, "in", "citizen", "cho tôi gặp tổng đài viên")
        handoff_id = request_handoff(session, conversation, "request").handoff_id
    return logins, handoff_id


def client_for(app, login) -> TestClient:
    client = TestClient(app, base_url="http://testserver")
    client.cookies.set("hcc_staff", login.token)
    return client


def until(socket, predicate, frames: int = 50) -> dict:
    """The first frame ``predicate`` accepts, skipping the others (queue refreshes, pongs, history)."""
    for _ in range(frames):
        frame = socket.receive_json()
        if predicate(frame):
            return frame
    raise AssertionError("the expected frame never came")


def post(client, login, path, body=None):
    return client.post(path, json=body or {}, headers={"x-csrf-token": login.csrf_token, **ORIGIN})


def test_the_console_socket_needs_a_signed_in_operator_from_this_site(desk):
    logins, _ = desk
    app = create_app()
    with TestClient(app) as anonymous:
        with pytest.raises(WebSocketDisconnect) as refused:
            with anonymous.websocket_connect("/ws/console", headers=ORIGIN) as socket:
                socket.receive_json()
        assert refused.value.code == 4401
    with client_for(app, logins["lan"]) as client:
        with pytest.raises(WebSocketDisconnect) as refused:
            with client.websocket_connect("/ws/console", headers={"origin": "https://evil.example"}) as socket:
                socket.receive_json()
        assert refused.value.code == 4403
        assert client.get("/api/console/queue").status_code == 200
        assert anonymous.get("/api/console/queue").status_code == 401


def test_take_talk_close_end_to_end(desk):
    logins, handoff_id = desk
    app = create_app()
    with client_for(app, logins["lan"]) as lan, client_for(app, logins["minh"]) as minh:
        with lan.websocket_connect("/ws/console", headers=ORIGIN) as console, \
                lan.websocket_connect("/ws/widget") as widget:
            assert console.receive_json()["staff"]["full_name"] == "Nguyễn Lan"
            queue = until(console, lambda f: f["type"] == "queue")
            [item] = queue["items"]
            assert (item["handoff_id"], item["reason"], item["channel"], item["last_message"]) == (
                handoff_id, "request", "widget", "cho tôi gặp tổng đài viên")
            widget.send_json({"type": "hello", "conversation": CITIZEN, "after": 0})
            until(widget, lambda f: f["type"] == "ready")

            assert lan.post(f"/api/console/handoffs/{handoff_id}/take", headers=ORIGIN).status_code == 403  # no CSRF
            assert post(lan, logins["lan"], f"/api/console/handoffs/{handoff_id}/take").status_code == 200
            second = post(minh, logins["minh"], f"/api/console/handoffs/{handoff_id}/take")
            assert second.status_code == 409 and "đã có người nhận" in second.json()["error"]
            joined = until(widget, lambda f: f["type"] == "message")
            assert (joined["author"], joined["text"]) == ("system", "Tổng đài viên Nguyễn Lan đã tham gia cuộc trò chuyện.")
            until(console, lambda f: f["type"] == "queue" and f["items"][0]["status"] == "active")

            conversation_id = item["conversation_id"]
            console.send_json({"type": "open", "conversation_id": conversation_id, "after": 0})
            history = [until(console, lambda f: f["type"] == "message") for _ in range(2)]
            assert [m["author"] for m in history] == ["citizen", "system"]

            console.send_json({"type": "reply", "text": "Chào anh/chị, em là Lan.", "client_id": "r1"})
            assert until(console, lambda f: f["type"] == "sent")["client_id"] == "r1"
            said = until(widget, lambda f: f["type"] == "message")
            assert (said["author"], said["text"]) == ("operator", "Chào anh/chị, em là Lan.")

            # Minh does not hold it: his reply is refused and nothing reaches the citizen.
            refused = post(minh, logins["minh"], f"/api/console/conversations/{conversation_id}/messages", {"text": "xin chào"})
            assert refused.status_code == 403

            widget.send_json({"type": "message", "text": "Tôi cần làm lại hộ chiếu", "client_id": "c1"})
            live = until(console, lambda f: f["type"] == "message" and f["author"] == "citizen" and f["id"] > history[0]["id"])
            assert live["text"] == "Tôi cần làm lại hộ chiếu"

            assert post(lan, logins["lan"], f"/api/console/handoffs/{handoff_id}/notes", {"text": "Hỏi hộ chiếu"}).status_code == 201
            view = lan.get(f"/api/console/conversations/{conversation_id}").json()
            assert view["mine"] and [n["text"] for n in view["notes"]] == ["Hỏi hộ chiếu"]
            assert [m["author"] for m in view["messages"]] == ["citizen", "system", "operator", "citizen"]

            closing = post(lan, logins["lan"], f"/api/console/handoffs/{handoff_id}/close", {"outcome": "resolved"})
            assert closing.status_code == 200
            ask = until(widget, lambda f: f["type"] == "message" and f["author"] == "bot")
            assert [button["payload"] for button in ask["buttons"]] == RATE
            assert "đánh giá" in ask["text"]
    with transaction() as session:
        conversation = session.get(Conversation, conversation_id)
        assert (conversation.state, conversation.assigned_to) == ("bot", None)
        assert session.get(Handoff, handoff_id).outcome == "resolved"
        authors = [m.author for m in session.query(Message).filter_by(conversation_id=conversation_id).order_by(Message.id)]
        assert authors == ["citizen", "system", "operator", "citizen", "bot"]


def test_a_dropped_console_keeps_the_hold_for_the_grace_period_then_requeues(desk):
    logins, handoff_id = desk
    app = create_app()
    with client_for(app, logins["lan"]) as lan, lan.websocket_connect("/ws/widget") as widget:
        widget.send_json({"type": "hello", "conversation": CITIZEN, "after": 0})
        until(widget, lambda f: f["type"] == "ready")
        with lan.websocket_connect("/ws/console", headers=ORIGIN) as console:
            console.receive_json()
            assert post(lan, logins["lan"], f"/api/console/handoffs/{handoff_id}/take").status_code == 200
            time.sleep(2.0)  # twice the grace period, the console connected all along
            with transaction() as session:
                assert session.get(Handoff, handoff_id).status == "active"
        dropped = time.monotonic()
        deadline = dropped + 10
        while time.monotonic() < deadline:
            with transaction() as session:
                if session.get(Handoff, handoff_id).status == "waiting":
                    break
            time.sleep(0.1)
        waited = time.monotonic() - dropped
        assert 0.9 <= waited < 5, waited
        notice = until(widget, lambda f: f["type"] == "message" and "mất kết nối" in f["text"])
        assert notice["author"] == "system"
        with transaction() as session:
            handoff = session.get(Handoff, handoff_id)
            assert handoff.operator_id is None
            assert session.get(Conversation, handoff.conversation_id).state == "queued"
