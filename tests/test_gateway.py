"""The gateway's REST channel and conversation router, against a fake Rasa server on a loopback port."""
from __future__ import annotations

import asyncio
import time
import unicodedata
from dataclasses import dataclass, field

import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from bot import rasa_client, router
from bot.app import create_app
from bot.settings import get_settings
from knowledge_base import conversations, handoffs
from knowledge_base.db import session_factory, transaction
from knowledge_base.dossier_notifications import UNSUBSCRIBE_PAYLOAD
from knowledge_base.models import Conversation, Message
from loopback_server import serving
from stack import free_port

WEBHOOK = "/webhooks/rest/webhook"
BUTTONS = [{"title": "Hộ chiếu", "payload": "/inform{\"procedure\": \"hộ chiếu\"}"}]


@dataclass
class FakeRasa:
    """Rasa's REST webhook as far as the gateway sees it; notes whether each message was stored before it arrived."""

    port: int
    database_url: str | None = None
    mode: str = "ok"  # ok | error | slow | silent (Rasa's answer when the action server is down)
    received: list[dict] = field(default_factory=list)
    stored_first: list[bool] = field(default_factory=list)

    async def webhook(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.received.append(body)
        self.stored_first.append(_inbound_count(self.database_url, body["message"]) == 1)
        if self.mode == "error":
            return JSONResponse({"error": "boom"}, status_code=500)
        if self.mode == "slow":
            await asyncio.sleep(3)
        if self.mode == "silent":
            return JSONResponse([])
        return JSONResponse([{"recipient_id": body["sender"], "text": f"Đã nhận: {body['message']}"},
                             {"recipient_id": body["sender"], "text": "Anh/chị hỏi thủ tục nào?", "buttons": BUTTONS}])

    async def ok(self, request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})


def _inbound_count(url: str, text: str) -> int:
    with session_factory(url)() as session:
        return session.scalar(select(func.count()).select_from(Message).where(Message.direction == "in", Message.text == text))


@pytest.fixture(scope="module")
def fake_rasa():
    fake = FakeRasa(free_port())
    app = Starlette(routes=[Route(WEBHOOK, fake.webhook, methods=["POST"]), Route("/status", fake.ok), Route("/health", fake.ok)])
    with serving(app, fake.port):
        yield fake


@pytest.fixture
def rasa(fake_rasa, hcc_env, monkeypatch):
    """The fake, reset, with the gateway's settings pointing at it (Rasa and action server alike)."""
    fake_rasa.database_url, fake_rasa.mode = hcc_env, "ok"
    fake_rasa.received.clear()
    fake_rasa.stored_first.clear()
    monkeypatch.setenv("HCC_RASA_PORT", str(fake_rasa.port))
    monkeypatch.setenv("HCC_ACTION_PORT", str(fake_rasa.port))
    monkeypatch.setenv("HCC_RASA_TIMEOUT", "1")
    get_settings.cache_clear()
    yield fake_rasa
    get_settings.cache_clear()


@pytest.fixture
def gateway(rasa):
    with TestClient(create_app()) as client:
        yield client


def say(client: TestClient, sender: str, message: str):
    return client.post(WEBHOOK, json={"sender": sender, "message": message})


def stored(url: str) -> list[tuple[str, str, str, dict | None]]:
    """Every stored message as (direction, author, text, payload), oldest first."""
    with session_factory(url)() as session:
        return [(m.direction, m.author, m.text, m.payload) for m in session.scalars(select(Message).order_by(Message.id))]


def turn(channel: str, sender: str, text: str, external_id: str | None = None) -> list[dict]:
    """One router call on its own event loop (the shared HTTP client is closed with it)."""
    async def go() -> list[dict]:
        try:
            return await router.handle_message(channel, sender, text, external_id)
        finally:
            await rasa_client.close()

    return asyncio.run(go())


def test_replies_come_back_in_rasa_rest_format_and_both_sides_are_stored(gateway, rasa, hcc_env):
    response = say(gateway, "citizen-1", "Làm hộ chiếu cần gì?")
    assert response.status_code == 200
    assert response.json() == [
        {"recipient_id": "citizen-1", "text": "Đã nhận: Làm hộ chiếu cần gì?"},
        {"recipient_id": "citizen-1", "text": "Anh/chị hỏi thủ tục nào?", "buttons": BUTTONS},
    ]
    # The client address travels as metadata, for the actions' per-address lookup limit.
    assert rasa.received == [{"sender": conversations.rasa_sender_id("rest", "citizen-1"), "message": "Làm hộ chiếu cần gì?",
                              "metadata": {"client_ip": "testclient"}}]
    assert stored(hcc_env) == [
        ("in", "citizen", "Làm hộ chiếu cần gì?", None),
        ("out", "bot", "Đã nhận: Làm hộ chiếu cần gì?", None),
        ("out", "bot", "Anh/chị hỏi thủ tục nào?", {"buttons": BUTTONS}),
    ]


def test_the_message_is_committed_before_it_is_forwarded(gateway, rasa):
    say(gateway, "citizen-2", "lệ phí làm căn cước")
    assert rasa.stored_first == [True]


def test_a_duplicate_external_id_is_stored_once_and_not_forwarded_again(rasa, hcc_env):
    first = turn("telegram", "42", "xin chào", external_id="update-7")
    again = turn("telegram", "42", "xin chào", external_id="update-7")
    assert first and again == []
    assert len(rasa.received) == 1
    assert [row[:2] for row in stored(hcc_env)].count(("in", "citizen")) == 1


def test_a_rest_resend_under_the_same_message_id_gets_the_same_answer_and_is_stored_once(gateway, rasa, hcc_env):
    body = {"sender": "citizen-r", "message": "lệ phí hộ chiếu", "message_id": "m-1"}
    first = gateway.post(WEBHOOK, json=body)
    again = gateway.post(WEBHOOK, json=body)
    other = gateway.post(WEBHOOK, json={**body, "message_id": "m-2"})  # the same words again, a new message
    assert first.status_code == again.status_code == other.status_code == 200
    assert again.json() == first.json() == other.json() and len(first.json()) == 2
    assert len(rasa.received) == 2
    assert [row[:2] for row in stored(hcc_env)] == [("in", "citizen"), ("out", "bot"), ("out", "bot")] * 2


def _stored_unanswered(url: str, channel: str, sender: str, text: str, external_id: str, state: str = "bot") -> None:
    """A message as a first delivery leaves it when it fails right after storing it."""
    with transaction(url) as session:
        conversations.get_or_create(session, channel, sender).state = state
    with transaction(url) as session:
        conversations.append(session, channel, sender, "in", "citizen", [(text, None)], external_id)


def test_a_message_stored_but_never_answered_is_answered_when_delivered_again(rasa, hcc_env):
    _stored_unanswered(hcc_env, "telegram", "43", "xin chào", "update-9")
    replies = turn("telegram", "43", "xin chào", external_id="update-9")
    assert [reply["text"] for reply in replies] == ["Đã nhận: xin chào", "Anh/chị hỏi thủ tục nào?"]
    assert len(rasa.received) == 1
    assert [row[:2] for row in stored(hcc_env)] == [("in", "citizen"), ("out", "bot"), ("out", "bot")]
    assert turn("telegram", "43", "xin chào", external_id="update-9") == [] and len(rasa.received) == 1


def test_a_message_delivered_again_while_an_operator_holds_the_conversation_stays_with_the_operator(rasa, hcc_env):
    _stored_unanswered(hcc_env, "telegram", "44", "chị ơi", "update-3", state="operator")
    assert turn("telegram", "44", "chị ơi", external_id="update-3") == []
    assert rasa.received == [] and [row[:2] for row in stored(hcc_env)] == [("in", "citizen")]


def test_two_deliveries_of_one_message_at_once_are_answered_once(rasa, hcc_env):
    async def both() -> list[router.Turn]:
        try:
            return await asyncio.gather(*(router.handle("telegram", "45", "hộ khẩu", "update-5") for _ in range(2)))
        finally:
            await rasa_client.close()

    first, second = asyncio.run(both())
    assert len(rasa.received) == 1
    assert len(first.replies) == 2 and second.replies == [] and second.answered_before == first.replies
    assert [row[:2] for row in stored(hcc_env)] == [("in", "citizen"), ("out", "bot"), ("out", "bot")]


@pytest.mark.parametrize("typed", ["/huy", " /HỦY ", "/huỷ"])
def test_the_typed_command_the_notifications_name_reaches_rasa_as_its_intent(gateway, rasa, hcc_env, typed):
    assert say(gateway, "citizen-h", typed).status_code == 200
    assert [body["message"] for body in rasa.received] == [UNSUBSCRIBE_PAYLOAD]
    assert stored(hcc_env)[0][:3] == ("in", "citizen", typed.strip())  # the citizen's own words are kept


def test_other_slash_texts_reach_rasa_as_they_are(gateway, rasa):
    for text in ["/inform{\"procedure\": \"hộ chiếu\"}", "/huy theo dõi"]:
        say(gateway, "citizen-i", text)
    assert [body["message"] for body in rasa.received] == ["/inform{\"procedure\": \"hộ chiếu\"}", "/huy theo dõi"]


def test_while_an_operator_holds_the_conversation_the_bot_is_silent_but_the_message_is_kept(rasa, hcc_env):
    turn("widget", "w-1", "cho tôi gặp tổng đài viên")
    with transaction(hcc_env) as session:
        conversation = conversations.get_or_create(session, "widget", "w-1")
        conversation.state = "operator"
    with session_factory(hcc_env)() as session:
        assert handoffs.is_held_by_operator(session, "widget", "w-1")
    received = len(rasa.received)
    assert turn("widget", "w-1", "tôi cần hỏi về hộ khẩu") == []
    assert len(rasa.received) == received
    assert stored(hcc_env)[-1][:3] == ("in", "citizen", "tôi cần hỏi về hộ khẩu")


@pytest.mark.parametrize("failure", ["down", "error", "slow", "silent"])
def test_when_rasa_fails_the_citizen_gets_an_apology_with_the_hotline_and_the_message_stays(failure, rasa, hcc_env, monkeypatch):
    if failure == "down":
        monkeypatch.setenv("HCC_RASA_PORT", str(free_port()))  # nothing listens there
        get_settings.cache_clear()
    rasa.mode = failure
    started = time.monotonic()
    with TestClient(create_app()) as client:
        response = say(client, "citizen-3", "hồ sơ của tôi đến đâu rồi")
    assert time.monotonic() - started < 3  # bounded by HCC_RASA_TIMEOUT, not by the slow server
    assert response.status_code == 200
    (reply,) = response.json()
    assert reply["recipient_id"] == "citizen-3" and get_settings().hotline in reply["text"]
    assert stored(hcc_env)[0][:3] == ("in", "citizen", "hồ sơ của tôi đến đâu rồi")
    assert stored(hcc_env)[1][:2] == ("out", "system")


def test_the_gateway_recovers_by_itself_when_rasa_is_back(gateway, rasa):
    rasa.mode = "error"
    assert get_settings().hotline in say(gateway, "citizen-4", "xin chào").json()[0]["text"]
    rasa.mode = "ok"
    assert say(gateway, "citizen-4", "xin chào").json()[0]["text"] == "Đã nhận: xin chào"


@pytest.mark.parametrize("body", [
    b"{not json",
    b"\xff\xfe",
    b'["sender", "message"]',
    b'{"message": "xin chao"}',
    b'{"sender": "", "message": "xin chao"}',
    b'{"sender": "a"}',
    b'{"sender": "a", "message": 5}',
    ('{"sender": "%s", "message": "xin chao"}' % ("x" * 200)).encode(),
    b'{"sender": "a", "message": "xin chao", "message_id": ""}',
    b'{"sender": "a", "message": "xin chao", "message_id": 7}',
    b'{"sender": "a", "message": "xin chao", "message_id": "c\u00f3 d\u1ea5u"}',
    ('{"sender": "a", "message": "xin chao", "message_id": "%s"}' % ("m" * 65)).encode(),
])
def test_malformed_requests_get_400_with_a_vietnamese_reason_and_change_nothing(gateway, rasa, hcc_env, body):
    response = gateway.post(WEBHOOK, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    reason = response.json()["error"]
    assert reason and reason != reason.encode("ascii", "ignore").decode()  # Vietnamese, with its marks
    assert stored(hcc_env) == [] and rasa.received == []


def test_an_oversized_body_is_refused_unread(gateway, rasa, hcc_env):
    response = say(gateway, "citizen-5", "a" * (get_settings().max_body_bytes + 1))
    assert response.status_code == 413 and "byte" in response.json()["error"]
    assert stored(hcc_env) == [] and rasa.received == []


@pytest.mark.parametrize("message", ["", "   \n ", "x" * 2001])
def test_empty_or_too_long_messages_get_a_vietnamese_reply_and_nothing_is_stored(gateway, rasa, hcc_env, message):
    response = say(gateway, "citizen-6", message)
    assert response.status_code == 200
    (reply,) = response.json()
    assert reply["recipient_id"] == "citizen-6" and "Anh/chị" in reply["text"]
    assert stored(hcc_env) == [] and rasa.received == []


def test_text_typed_with_combining_marks_is_stored_and_forwarded_composed(gateway, rasa, hcc_env):
    composed = "Đăng ký khai sinh ở đâu?"
    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed
    say(gateway, "citizen-7", decomposed)
    assert rasa.received[0]["message"] == composed
    assert stored(hcc_env)[0][2] == composed


def test_conversations_are_one_per_channel_and_sender(gateway, rasa, hcc_env):
    say(gateway, "citizen-8", "xin chào")
    say(gateway, "citizen-8", "cảm ơn")
    say(gateway, "citizen-9", "xin chào")
    with session_factory(hcc_env)() as session:
        rows = session.execute(select(Conversation.channel, Conversation.sender_id).order_by(Conversation.id)).all()
    assert [tuple(row) for row in rows] == [("rest", "citizen-8"), ("rest", "citizen-9")]


def test_health_says_whether_rasa_answers_and_ready_needs_all_three(gateway, rasa, monkeypatch):
    assert gateway.get("/health").json()["rasa"] is True
    assert gateway.get("/ready").status_code == 200
    monkeypatch.setenv("HCC_RASA_PORT", str(free_port()))
    get_settings.cache_clear()
    assert gateway.get("/health").json()["rasa"] is False
    response = gateway.get("/ready")
    assert response.status_code == 503 and response.json() == {"ready": False, "database": True, "rasa": False, "actions": True}
