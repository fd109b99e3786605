"""The Telegram channel against a fake Bot API and a fake Rasa, both on loopback ports."""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from telegram.error import BadRequest, NetworkError, RetryAfter

from bot.app import create_app
from bot.channels import telegram, telegram_retry
from bot.channels.telegram_buttons import CALLBACK_DATA_MAX, callback_data
from bot.settings import get_settings
from fake_telegram import TOKEN, FakeTelegram, fake_telegram
from knowledge_base import conversations
from knowledge_base.db import session_factory
from knowledge_base.models import Conversation, Message
from knowledge_base.tracking_code import EXAMPLE
from loopback_server import serving
from stack import free_port

pytestmark = pytest.mark.timeout(30)

WEBHOOK = "/webhooks/telegram"
WEBHOOK_URL = "https://hcc.example.vn/webhooks/telegram"
SHORT = '/inform{"procedure": "1.001456"}'
LONG = '/inform{"procedure": "Cấp giấy chứng nhận quyền sử dụng đất, quyền sở hữu nhà ở lần đầu"}'
BUTTONS = [{"title": "Hộ chiếu", "payload": SHORT}, {"title": "Sổ đỏ lần đầu", "payload": LONG}]
CHAT = 5550001


@dataclass
class FakeRasa:
    """Rasa's REST webhook: an echo, then a question with two buttons (one payload too long for callback data)."""

    port: int
    received: list[dict] = field(default_factory=list)

    async def webhook(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.received.append(body)
        return JSONResponse([{"recipient_id": body["sender"], "text": f"Đã nhận: {body['message']}"},
                             {"recipient_id": body["sender"], "text": "Anh/chị hỏi thủ tục nào?", "buttons": BUTTONS}])

    async def ok(self, request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    def messages(self) -> list[str]:
        return [body["message"] for body in self.received]


@pytest.fixture(scope="module")
def servers():
    rasa = FakeRasa(free_port())
    app = Starlette(routes=[Route("/webhooks/rest/webhook", rasa.webhook, methods=["POST"]),
                            Route("/status", rasa.ok), Route("/health", rasa.ok)])
    with serving(app, rasa.port), fake_telegram() as bot_api:
        yield rasa, bot_api


@pytest.fixture
def rasa(servers, hcc_env, monkeypatch) -> FakeRasa:
    fake, bot_api = servers
    fake.received.clear()
    bot_api.reset()
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.delenv("TELEGRAM_WEBHOOK_URL", raising=False)
    monkeypatch.setenv("HCC_RASA_PORT", str(fake.port))
    monkeypatch.setenv("HCC_ACTION_PORT", str(fake.port))
    monkeypatch.setenv("HCC_RASA_TIMEOUT", "2")
    monkeypatch.setenv("HCC_TELEGRAM_API_URL", bot_api.api_url)
    monkeypatch.setenv("HCC_TELEGRAM_POLL_TIMEOUT", "1")
    get_settings.cache_clear()
    yield fake
    get_settings.cache_clear()


@pytest.fixture
def bot_api(servers, rasa, monkeypatch) -> FakeTelegram:
    """The fake Bot API, with the channel's token set (long polling unless a test sets the webhook URL)."""
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    get_settings.cache_clear()
    return servers[1]


def gateway() -> TestClient:
    """The gateway app; entering it starts the Telegram channel, leaving it stops the channel."""
    return TestClient(create_app())


@pytest.fixture
def webhook_mode(bot_api, monkeypatch) -> str:
    monkeypatch.setenv("TELEGRAM_WEBHOOK_URL", WEBHOOK_URL)
    get_settings.cache_clear()
    return get_settings().telegram_webhook_secret


def wait_polling(bot_api: FakeTelegram) -> None:
    bot_api.wait_for("getUpdates")


def texts(sent: list[dict]) -> list[str]:
    return [params["text"] for params in sent]


def keyboard(params: dict) -> list[tuple[str, str]]:
    return [(button["text"], button["callback_data"]) for row in params["reply_markup"]["inline_keyboard"] for button in row]


def stored(url: str) -> list[tuple[str, str, str]]:
    with session_factory(url)() as session:
        return [(m.direction, m.author, m.text) for m in session.scalars(select(Message).order_by(Message.id))]


def test_a_message_makes_a_full_round_trip_through_long_polling(bot_api, rasa, hcc_env):
    with gateway():
        wait_polling(bot_api)
        bot_api.push(bot_api.message_update(CHAT, "Làm hộ chiếu cần gì?"))
        sent = bot_api.wait_for("sendMessage", 2)
    assert rasa.received == [{"sender": conversations.rasa_sender_id("telegram", str(CHAT)), "message": "Làm hộ chiếu cần gì?"}]
    assert [int(params["chat_id"]) for params in sent] == [CHAT, CHAT]
    assert texts(sent) == ["Đã nhận: Làm hộ chiếu cần gì?", "Anh/chị hỏi thủ tục nào?"]
    assert "reply_markup" not in sent[0]
    assert bot_api.calls_to("getMe") and bot_api.calls_to("deleteWebhook") and not bot_api.calls_to("setWebhook")
    assert stored(hcc_env) == [("in", "citizen", "Làm hộ chiếu cần gì?"), ("out", "bot", "Đã nhận: Làm hộ chiếu cần gì?"),
                               ("out", "bot", "Anh/chị hỏi thủ tục nào?")]
    with session_factory(hcc_env)() as session:
        assert session.scalars(select(Conversation.channel)).all() == ["telegram"]


def test_webhook_mode_registers_the_secret_and_refuses_updates_without_it(bot_api, rasa, hcc_env, webhook_mode):
    update = bot_api.message_update(CHAT, "lệ phí làm căn cước")
    with gateway() as client:
        (registered,) = bot_api.wait_for("setWebhook")
        assert registered["url"] == WEBHOOK_URL and registered["secret_token"] == webhook_mode
        assert client.post(WEBHOOK, json=update).status_code == 403
        assert client.post(WEBHOOK, json=update, headers={telegram.SECRET_HEADER: webhook_mode[:-1] + "x"}).status_code == 403
        assert rasa.received == [] and stored(hcc_env) == []
        response = client.post(WEBHOOK, json=update, headers={telegram.SECRET_HEADER: webhook_mode})
        assert response.status_code == 200
        # Handled before the 200: Telegram only retries what we did not answer.
        assert texts(bot_api.calls_to("sendMessage")) == ["Đã nhận: lệ phí làm căn cước", "Anh/chị hỏi thủ tục nào?"]
        assert client.post(WEBHOOK, content=b"{oops", headers={telegram.SECRET_HEADER: webhook_mode}).status_code == 400
    assert rasa.messages() == ["lệ phí làm căn cước"]
    assert not bot_api.calls_to("deleteWebhook")  # polling would start by removing the webhook


def test_a_webhook_update_delivered_twice_is_answered_once(bot_api, rasa, hcc_env, webhook_mode):
    update = bot_api.message_update(CHAT, "thủ tục đăng ký khai sinh")
    with gateway() as client:
        bot_api.wait_for("setWebhook")
        for _ in range(2):
            assert client.post(WEBHOOK, json=update, headers={telegram.SECRET_HEADER: webhook_mode}).status_code == 200
    assert rasa.messages() == ["thủ tục đăng ký khai sinh"]
    assert len(bot_api.calls_to("sendMessage")) == 2
    assert [row[:2] for row in stored(hcc_env)].count(("in", "citizen")) == 1


def test_an_update_redelivered_after_a_restart_is_answered_once(bot_api, rasa, hcc_env):
    update = bot_api.message_update(CHAT, "đăng ký kết hôn")
    with gateway():
        wait_polling(bot_api)
        bot_api.push(update)
        bot_api.wait_for("sendMessage", 2)
    bot_api.push(update)  # Telegram sends it again: the offset was not confirmed before a crash
    with gateway():
        bot_api.push(bot_api.message_update(CHAT, "cảm ơn"))
        bot_api.wait_for("sendMessage", 4)
        time.sleep(0.3)  # time for a wrongly repeated answer to show up
    assert bot_api.delivered().count(update["update_id"]) == 2
    assert rasa.messages() == ["đăng ký kết hôn", "cảm ơn"]
    assert texts(bot_api.calls_to("sendMessage"))[::2] == ["Đã nhận: đăng ký kết hôn", "Đã nhận: cảm ơn"]
    assert len(bot_api.calls_to("sendMessage")) == 4


def test_a_429_is_retried_after_the_advised_delay(bot_api, rasa):
    bot_api.throttle_sends = 1
    with gateway():
        wait_polling(bot_api)
        bot_api.push(bot_api.message_update(CHAT, "giờ làm việc"))
        sent = bot_api.wait_for("sendMessage", 2)
    attempts = [call for call in bot_api.calls if call.method == "sendMessage"]
    assert [call.answered for call in attempts] == [429, 200, 200]
    assert attempts[0].params["text"] == attempts[1].params["text"] == "Đã nhận: giờ làm việc"
    assert attempts[1].at - attempts[0].at >= 0.95  # retry_after=1
    assert texts(sent) == ["Đã nhận: giờ làm việc", "Anh/chị hỏi thủ tục nào?"]


def test_buttons_become_an_inline_keyboard_and_a_press_survives_a_restart(bot_api, rasa, hcc_env):
    with gateway():
        wait_polling(bot_api)
        bot_api.push(bot_api.message_update(CHAT, "làm sổ đỏ"))
        question = bot_api.wait_for("sendMessage", 2)[1]
    buttons = keyboard(question)
    assert [title for title, _ in buttons] == ["Hộ chiếu", "Sổ đỏ lần đầu"]
    assert buttons[0][1] == SHORT  # short payloads travel as they are
    assert buttons[1][1] != LONG and len(buttons[1][1].encode()) <= CALLBACK_DATA_MAX
    assert len(LONG.encode()) > CALLBACK_DATA_MAX

    press = bot_api.button_update(CHAT, question["result"], buttons[1][1])
    with gateway():  # a new process: the short key is resolved from the stored conversation
        wait_polling(bot_api)
        bot_api.push(press)
        sent = bot_api.wait_for("sendMessage", 4)
        (answered,) = bot_api.wait_for("answerCallbackQuery")
        (edited,) = bot_api.wait_for("editMessageReplyMarkup")
    assert answered["callback_query_id"] == press["callback_query"]["id"]
    assert edited["message_id"] == question["result"]["message_id"] and int(edited["chat_id"]) == CHAT
    assert not edited.get("reply_markup", {}).get("inline_keyboard")  # the pressed keyboard is gone
    assert rasa.messages() == ["làm sổ đỏ", LONG]
    assert texts(sent)[2] == f"Đã nhận: {LONG}"
    assert ("in", "citizen", LONG) in stored(hcc_env)


def test_a_button_the_bot_never_offered_is_not_sent_on(bot_api, rasa, hcc_env):
    with gateway():
        wait_polling(bot_api)
        bot_api.push(bot_api.message_update(CHAT, "xin chào"))
        question = bot_api.wait_for("sendMessage", 2)[1]
        bot_api.push(bot_api.button_update(CHAT, question["result"], callback_data("/inform" + "x" * 80)))
        (reply,) = bot_api.wait_for("sendMessage", 3)[2:]
    assert reply["text"] == telegram.stale_button_reply()
    assert rasa.messages() == ["xin chào"]


def test_commands_start_help_tracuu_and_hotline(bot_api, rasa, hcc_env):
    with gateway():
        wait_polling(bot_api)
        for text in ("/start", "/help", "/tracuu", f"/tracuu {EXAMPLE}", "/hotline"):
            bot_api.push(bot_api.message_update(CHAT, text))
        sent = texts(bot_api.wait_for("sendMessage", 7))
    # /start and /tracuu with a code go to the bot; the others are answered by the gateway itself.
    assert rasa.messages() == ["xin chào", f"tra cứu hồ sơ {EXAMPLE}"]
    assert sent[0] == "Đã nhận: xin chào"
    assert "/tracuu" in sent[2] and "/hotline" in sent[2] and get_settings().center_name in sent[2]
    assert EXAMPLE in sent[3] and "mã hồ sơ" in sent[3]
    assert sent[4] == f"Đã nhận: tra cứu hồ sơ {EXAMPLE}"
    assert get_settings().hotline in sent[6]
    rows = stored(hcc_env)
    assert ("in", "citizen", "/hotline") in rows and ("out", "system", sent[6]) in rows


def test_without_a_token_the_channel_is_off_and_the_gateway_runs(rasa, servers):
    bot_api = servers[1]
    with gateway() as client:
        assert client.get("/health").status_code == 200
        assert client.post(WEBHOOK, json={"update_id": 1}).status_code == 404
        time.sleep(0.2)
    # A poll left over from an earlier test may still end here; this gateway itself never says hello.
    assert not bot_api.calls_to("getMe", ok_only=False) and not bot_api.calls_to("setWebhook", ok_only=False)


def test_an_unreachable_telegram_does_not_keep_the_gateway_from_serving(bot_api, monkeypatch):
    monkeypatch.setenv("HCC_TELEGRAM_API_URL", f"http://127.0.0.1:{free_port()}")  # nothing listens there
    get_settings.cache_clear()
    started = time.monotonic()
    with gateway() as client:
        assert client.get("/health").status_code == 200
        assert client.post(WEBHOOK, json={"update_id": 1}).status_code == 404  # polling mode: no webhook
    assert time.monotonic() - started < 5


def test_the_webhook_secret_is_stable_per_token_and_can_be_set(monkeypatch):
    monkeypatch.delenv("HCC_TELEGRAM_SECRET", raising=False)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    get_settings.cache_clear()
    derived = get_settings().telegram_webhook_secret
    get_settings.cache_clear()
    assert get_settings().telegram_webhook_secret == derived and TOKEN not in derived
    assert all(c.isalnum() or c in "_-" for c in derived) and 1 <= len(derived) <= 256  # Telegram's rule
    monkeypatch.setenv("HCC_TELEGRAM_BOT_TOKEN", "999:other")
    get_settings.cache_clear()
    assert get_settings().telegram_bot_token == "999:other" and get_settings().telegram_webhook_secret != derived
    monkeypatch.setenv("HCC_TELEGRAM_SECRET", "bi-mat_rieng")
    get_settings.cache_clear()
    assert get_settings().telegram_webhook_secret == "bi-mat_rieng"
    get_settings.cache_clear()


@pytest.fixture
def no_sleep(monkeypatch) -> list[float]:
    slept: list[float] = []

    async def sleep(delay: float) -> None:
        slept.append(delay)

    monkeypatch.setenv("HCC_TELEGRAM_SEND_ATTEMPTS", "3")
    get_settings.cache_clear()
    yield sleep, slept
    get_settings.cache_clear()


def failing(*errors: Exception):
    """A call failing with ``errors`` in turn, then answering "ok"; ``calls`` counts the tries."""
    state = {"calls": 0}

    async def call() -> str:
        state["calls"] += 1
        if state["calls"] <= len(errors):
            raise errors[state["calls"] - 1]
        return "ok"

    return call, state


def test_network_errors_are_retried_a_bounded_number_of_times(no_sleep):
    sleep, slept = no_sleep
    call, state = failing(NetworkError("connection reset"))
    assert asyncio.run(telegram_retry.with_retries(call, sleep=sleep)) == "ok" and state["calls"] == 2 and slept == [1.0]
    call, state = failing(*[NetworkError("down")] * 5)
    with pytest.raises(NetworkError):
        asyncio.run(telegram_retry.with_retries(call, sleep=sleep))
    assert state["calls"] == 3 and slept == [1.0, 1.0, 2.0]


def test_bad_requests_and_long_flood_waits_are_not_retried(no_sleep):
    sleep, slept = no_sleep
    call, state = failing(BadRequest("chat not found"))
    with pytest.raises(BadRequest):
        asyncio.run(telegram_retry.with_retries(call, sleep=sleep))
    assert state["calls"] == 1
    call, state = failing(RetryAfter(3600))
    with pytest.raises(RetryAfter):
        asyncio.run(telegram_retry.with_retries(call, sleep=sleep))
    assert state["calls"] == 1 and slept == []


def test_long_replies_are_cut_at_line_breaks_within_telegram_limit():
    text = "\n".join(f"{i}. Giấy tờ cần nộp số {i}" for i in range(400))
    pieces = telegram.chunks(text, telegram.TEXT_MAX)
    assert len(pieces) > 1 and all(len(piece) <= telegram.TEXT_MAX for piece in pieces)
    assert "\n".join(pieces) == text


def test_a_message_from_outside_the_bot_is_delivered_to_the_chat(bot_api, rasa):
    message = {"text": "Tổng đài viên: hồ sơ của anh/chị đã được chuyển bộ phận thẩm định.", "buttons": BUTTONS[:1]}
    assert asyncio.run(telegram.deliver(str(CHAT), message)) == 0  # the channel is not running: nothing sent
    with gateway() as client:
        wait_polling(bot_api)
        assert client.portal.call(telegram.deliver, str(CHAT), message) == 1
    (sent,) = bot_api.calls_to("sendMessage")
    assert sent["text"] == message["text"] and int(sent["chat_id"]) == CHAT
    assert keyboard(sent) == [("Hộ chiếu", SHORT)]
