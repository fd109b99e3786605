"""The Telegram side of a handoff through the fake Bot API: joined notice, operator messages, silence, rating buttons."""
from __future__ import annotations

import time

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from bot.app import create_app
from bot.settings import get_settings
from fake_telegram import TOKEN, fake_telegram
from knowledge_base import conversations
from knowledge_base.db import transaction
from knowledge_base.handoffs import request_handoff
from knowledge_base.staff import add_staff
from knowledge_base.staff_sessions import open_session
from loopback_server import serving
from stack import free_port

pytestmark = pytest.mark.timeout(60)

CHAT = 5550042
HANDOFF_REPLY = "Em đã chuyển anh/chị tới tổng đài viên, vui lòng chờ trong giây lát."
RATE = ['/rate_service{"rating_level": "rat_hai_long"}', '/rate_service{"rating_level": "hai_long"}',
        '/rate_service{"rating_level": "khong_hai_long"}']


class FakeRasa:
    """Stands in for Rasa + action_handoff: "gặp tổng đài viên" queues the conversation as the action would."""

    def __init__(self) -> None:
        self.received: list[str] = []

    async def webhook(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.received.append(body["message"])
        if "tổng đài viên" in body["message"]:
            channel, sender = conversations.split_sender_id(body["sender"])
            with transaction() as session:
                request_handoff(session, conversations.get_or_create(session, channel, sender), "request")
            return JSONResponse([{"recipient_id": body["sender"], "text": HANDOFF_REPLY}])
        return JSONResponse([{"recipient_id": body["sender"], "text": f"Bot: {body['message']}"}])

    async def ok(self, request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})


@pytest.fixture
def world(hcc_env, monkeypatch):
    rasa, port = FakeRasa(), free_port()
    app = Starlette(routes=[Route("/webhooks/rest/webhook", rasa.webhook, methods=["POST"]), Route("/status", rasa.ok)])
    with serving(app, port), fake_telegram() as bot_api:
        monkeypatch.delenv("TELEGRAM_WEBHOOK_URL", raising=False)
        for name, value in {"HCC_RASA_PORT": port, "HCC_ACTION_PORT": port, "HCC_TELEGRAM_API_URL": bot_api.api_url,
                            "HCC_TELEGRAM_POLL_TIMEOUT": 1, "TELEGRAM_BOT_TOKEN": TOKEN, "HCC_CONSOLE_TICK_SECONDS": 0.1}.items():
            monkeypatch.setenv(name, str(value))
        get_settings.cache_clear()
        with transaction() as session:
            login = open_session(session, add_staff(session, "lan", "operator", "mat-khau-dai-du-10", full_name="Trần Thị Lan"), "t")
        yield rasa, bot_api, login
        get_settings.cache_clear()


def sent_texts(bot_api, count: int) -> list[dict]:
    return bot_api.wait_for("sendMessage", count)


def test_a_telegram_citizen_is_served_by_an_operator_then_asked_to_rate(world):
    rasa, bot_api, login = world
    client = TestClient(create_app(), base_url="http://testserver")
    client.cookies.set("hcc_staff", login.token)
    headers = {"x-csrf-token": login.csrf_token, "origin": "http://testserver"}
    with client:
        bot_api.wait_for("getUpdates")
        bot_api.push(bot_api.message_update(CHAT, "cho tôi gặp tổng đài viên"))
        assert sent_texts(bot_api, 1)[0]["text"] == HANDOFF_REPLY
        with client.websocket_connect("/ws/console", headers={"origin": "http://testserver"}) as console:
            deadline = time.monotonic() + 10
            while True:
                frame = console.receive_json()
                if frame["type"] == "queue" and frame["items"]:
                    break
                assert time.monotonic() < deadline
            [item] = frame["items"]
            assert (item["channel"], item["last_message"]) == ("telegram", "cho tôi gặp tổng đài viên")
            assert client.post(f"/api/console/handoffs/{item['handoff_id']}/take", headers=headers).status_code == 200
            joined = sent_texts(bot_api, 2)[1]
            assert joined["text"] == "Tổng đài viên Trần Thị Lan đã tham gia cuộc trò chuyện." and int(joined["chat_id"]) == CHAT

            console.send_json({"type": "open", "conversation_id": item["conversation_id"], "after": 0})
            console.send_json({"type": "reply", "text": "Chào anh, em là Lan.", "client_id": "t1"})
            assert sent_texts(bot_api, 3)[2]["text"] == "Chào anh, em là Lan."

            asked = len(rasa.received)
            bot_api.push(bot_api.message_update(CHAT, "Tôi hỏi về hộ chiếu"))
            for _ in range(50):
                frame = console.receive_json()
                if frame["type"] == "message" and frame["author"] == "citizen" and frame["text"] == "Tôi hỏi về hộ chiếu":
                    break
            else:
                raise AssertionError("the citizen's message never reached the console")
            assert len(rasa.received) == asked  # held: the bot stayed silent

            closing = client.post(f"/api/console/handoffs/{item['handoff_id']}/close", json={"outcome": "resolved"}, headers=headers)
            assert closing.status_code == 200
            ask = sent_texts(bot_api, 4)[3]
            assert "đánh giá" in ask["text"]
            buttons = [button["callback_data"] for row in ask["reply_markup"]["inline_keyboard"] for button in row]
            assert buttons == RATE
            # The bot answers again: a press of a rating button goes to Rasa.
            bot_api.push(bot_api.button_update(CHAT, ask["result"], RATE[0]))
            deadline = time.monotonic() + 10
            while RATE[0] not in rasa.received:
                assert time.monotonic() < deadline, rasa.received
                time.sleep(0.05)
    assert len(bot_api.calls_to("sendMessage")) == 5
