"""The Zalo OA channel against a fake Zalo API and a fake Rasa, both on loopback ports."""
from __future__ import annotations

import asyncio
import json
import logging
import os
import stat
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from bot.app import create_app
from bot.channels import telegram, zalo, zalo_api, zalo_messages, zalo_tokens
from bot.settings import get_settings
from fake_zalo import APP_ID, APP_SECRET, FIRST_ACCESS, FIRST_REFRESH, OA_SECRET, FakeZalo, fake_zalo
from knowledge_base import conversations
from knowledge_base.db import session_factory, transaction
from knowledge_base.handoffs import request_handoff
from knowledge_base.models import Message
from knowledge_base.staff import add_staff
from knowledge_base.staff_sessions import open_session
from loopback_server import serving
from stack import free_port

pytestmark = pytest.mark.timeout(60)

WEBHOOK = "/webhooks/zalo"
USER = "2468458835296117922"
SHORT = '/inform{"procedure": "1.001456"}'
LONG = '/inform{"procedure": "Cấp giấy chứng nhận quyền sử dụng đất, quyền sở hữu nhà ở lần đầu"}'
BUTTONS = [{"title": "Hộ chiếu", "payload": SHORT}, {"title": "Sổ đỏ lần đầu", "payload": LONG}]
HANDOFF_REPLY = "Em đã chuyển anh/chị tới tổng đài viên, vui lòng chờ trong giây lát."


class FakeRasa:
    """An echo plus a question with two buttons; "tổng đài viên" queues a handoff as action_handoff would."""

    def __init__(self) -> None:
        self.received: list[dict] = []

    async def webhook(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.received.append(body)
        if "tổng đài viên" in body["message"]:
            channel, sender = conversations.split_sender_id(body["sender"])
            with transaction() as session:
                request_handoff(session, conversations.get_or_create(session, channel, sender), "request")
            return JSONResponse([{"recipient_id": body["sender"], "text": HANDOFF_REPLY}])
        return JSONResponse([{"recipient_id": body["sender"], "text": f"Đã nhận: {body['message']}"},
                             {"recipient_id": body["sender"], "text": "Anh/chị hỏi thủ tục nào?", "buttons": BUTTONS}])

    async def ok(self, request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    def messages(self) -> list[str]:
        return [body["message"] for body in self.received]


@pytest.fixture(scope="module")
def servers():
    rasa = FakeRasa()
    port = free_port()
    app = Starlette(routes=[Route("/webhooks/rest/webhook", rasa.webhook, methods=["POST"]),
                            Route("/status", rasa.ok), Route("/health", rasa.ok)])
    with serving(app, port), fake_zalo() as api:
        yield rasa, port, api


@pytest.fixture
def rasa(servers, hcc_env, monkeypatch) -> FakeRasa:
    """The fake Rasa, with the Zalo channel off (no Zalo settings)."""
    fake, port, api = servers
    fake.received.clear()
    api.reset()
    for name in ("ZALO_APP_ID", "ZALO_APP_SECRET", "ZALO_OA_SECRET", "ZALO_ACCESS_TOKEN", "ZALO_REFRESH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"HCC_{name}", raising=False)
    for name, value in {"HCC_RASA_PORT": port, "HCC_ACTION_PORT": port, "HCC_RASA_TIMEOUT": 2,
                        "HCC_ZALO_API_URL": api.api_url, "HCC_ZALO_OAUTH_URL": api.api_url,
                        "HCC_CONSOLE_TICK_SECONDS": 0.1}.items():
        monkeypatch.setenv(name, str(value))
    get_settings.cache_clear()
    yield fake
    get_settings.cache_clear()


@pytest.fixture
def api(servers, rasa, monkeypatch) -> FakeZalo:
    """The fake Zalo API, with the channel configured as a real OA would be (Zalo's own variable names)."""
    for name, value in {"ZALO_APP_ID": APP_ID, "ZALO_APP_SECRET": APP_SECRET, "ZALO_OA_SECRET": OA_SECRET,
                        "ZALO_ACCESS_TOKEN": FIRST_ACCESS, "ZALO_REFRESH_TOKEN": FIRST_REFRESH}.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    return servers[2]


def gateway() -> TestClient:
    return TestClient(create_app(), base_url="http://testserver")


def post(client: TestClient, api: FakeZalo, event: dict, secret: str = OA_SECRET, headers: dict | None = None):
    body, signed = api.signed(event, secret)
    return client.post(WEBHOOK, content=body, headers={**signed, **(headers or {})})


def stored(url: str) -> list[tuple[str, str, str]]:
    with session_factory(url)() as session:
        return [(m.direction, m.author, m.text) for m in session.scalars(select(Message).order_by(Message.id))]


def texts(sent: list[dict]) -> list[str]:
    return [params["message"]["text"] for params in sent]


def zalo_buttons(params: dict) -> list[dict]:
    return params["message"]["attachment"]["payload"]["buttons"]


def tokens_file() -> Path:
    return Path(get_settings().var_dir) / zalo_tokens.FILE_NAME


def test_a_text_makes_a_round_trip_with_buttons_as_zalo_template_buttons(api, rasa, hcc_env):
    with gateway() as client:
        response = post(client, api, api.event("user_send_text", USER, "Làm hộ chiếu cần gì?"))
        assert response.status_code == 200
        sent = api.wait_for_sends(2)
    assert rasa.received == [{"sender": f"zalo:{USER}", "message": "Làm hộ chiếu cần gì?"}]
    assert [params["recipient"] for params in sent] == [{"user_id": USER}] * 2
    assert {params["access_token"] for params in sent} == {FIRST_ACCESS}
    assert texts(sent) == ["Đã nhận: Làm hộ chiếu cần gì?", "Anh/chị hỏi thủ tục nào?"]
    assert "attachment" not in sent[0]["message"]
    assert zalo_buttons(sent[1]) == [{"title": "Hộ chiếu", "type": "oa.query.hide", "payload": SHORT},
                                     {"title": "Sổ đỏ lần đầu", "type": "oa.query.hide", "payload": LONG}]
    assert stored(hcc_env) == [("in", "citizen", "Làm hộ chiếu cần gì?"), ("out", "bot", "Đã nhận: Làm hộ chiếu cần gì?"),
                               ("out", "bot", "Anh/chị hỏi thủ tục nào?")]


def test_a_pressed_button_sends_its_payload_to_the_bot(api, rasa):
    with gateway() as client:
        post(client, api, api.event("user_send_text", USER, "làm sổ đỏ"))
        question = api.wait_for_sends(2)[1]
        # oa.query.hide: Zalo posts the pressed button's payload as the user's (hidden) text message.
        post(client, api, api.event("user_send_text", USER, zalo_buttons(question)[1]["payload"]))
        sent = api.wait_for_sends(4)
    assert rasa.messages() == ["làm sổ đỏ", LONG]
    assert texts(sent)[2] == f"Đã nhận: {LONG}"


def test_long_texts_are_cut_to_zalo_limit_and_many_buttons_continue_in_a_second_message():
    text = "\n".join(f"{i}. Giấy tờ cần nộp số {i}" for i in range(200))
    many = [{"title": f"Lựa chọn {i}", "payload": f"/chon{{\"so\": {i}}}"} for i in range(7)]
    pieces = zalo_messages.messages({"text": text, "buttons": many + [{"title": "quá dài", "payload": "x" * 1001}]})
    assert len(pieces) > 2 and all(len(piece["text"]) <= zalo_messages.TEXT_MAX for piece in pieces)
    assert "\n".join(piece["text"] for piece in pieces[:-1]) == text
    assert [len(piece["attachment"]["payload"]["buttons"]) for piece in pieces if "attachment" in piece] == [5, 2]
    assert pieces[-1]["text"] == zalo_messages.MORE_CHOICES
    assert all("quá dài" != button["title"] for piece in pieces if "attachment" in piece
               for button in piece["attachment"]["payload"]["buttons"])


def test_an_expired_token_is_refreshed_the_send_retried_and_the_new_pair_kept(api, rasa, hcc_env):
    api.expire_once = True
    with gateway() as client:
        post(client, api, api.event("user_send_text", USER, "giờ làm việc"))
        sent = api.wait_for_sends(2)
    assert api.answers("send")[:2] == [-216, 0] and api.answers("refresh") == [0]
    assert texts(sent) == ["Đã nhận: giờ làm việc", "Anh/chị hỏi thủ tục nào?"]
    assert {params["access_token"] for params in sent} == {api.access_token} != {FIRST_ACCESS}
    path = tokens_file()
    kept = json.loads(path.read_text())
    assert (kept["access_token"], kept["refresh_token"]) == (api.access_token, api.refresh_token)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert kept["expires_at"] == pytest.approx(time.time() + 90000, abs=60)
    # A restart uses the stored pair: the configured refresh token was used up by the refresh.
    with gateway() as client:
        post(client, api, api.event("user_send_text", USER, "cảm ơn"))
        later = api.wait_for_sends(4)[2:]
    assert {params["access_token"] for params in later} == {kept["access_token"]}
    assert api.answers("refresh") == [0]


def test_a_token_close_to_expiry_is_renewed_before_sending(api, rasa):
    settings = get_settings()
    zalo_tokens.save(settings, zalo_tokens.Tokens(FIRST_ACCESS, FIRST_REFRESH, time.time() + 60, zalo_tokens.load(settings).seed))
    with gateway() as client:
        post(client, api, api.event("user_send_text", USER, "xin chào"))
        sent = api.wait_for_sends(2)
    assert api.answers("refresh") == [0] and -216 not in api.answers("send")
    assert {params["access_token"] for params in sent} == {api.access_token}


def test_a_refused_refresh_is_reported_and_the_message_recorded_undelivered(api, rasa, hcc_env, caplog):
    api.expire_once = True
    api.refresh_token = "revoked"  # the OA admin removed the app's permission
    with caplog.at_level(logging.ERROR, logger="bot.channels"), gateway() as client:
        post(client, api, api.event("user_send_text", USER, "lệ phí"))
        deadline = time.monotonic() + 10
        while sum(author == "system" for _, author, _ in stored(hcc_env)) < 2:
            assert time.monotonic() < deadline, stored(hcc_env)
            time.sleep(0.05)
    assert api.sends() == [] and api.answers("refresh") == [-14014]
    notes = [text for _, author, text in stored(hcc_env) if author == "system"]
    assert all(note.startswith("Không gửi được tin nhắn qua Zalo") for note in notes)
    assert "không làm mới được" in caplog.text


@pytest.mark.parametrize("forge", ["wrong secret", "tampered body", "no header", "other app"])
def test_a_forged_event_is_refused_and_changes_nothing(api, rasa, hcc_env, forge):
    event = api.event("user_send_text", USER, "tra cứu hồ sơ")
    body, headers = api.signed(event)
    if forge == "wrong secret":
        body, headers = api.signed(event, "not-the-oa-secret")
    elif forge == "tampered body":
        body = body.replace("tra cứu".encode(), "xoá".encode())
    elif forge == "no header":
        headers.pop("X-ZEvent-Signature")
    else:
        body, headers = api.signed({**event, "app_id": "1111"})
    with gateway() as client:
        response = client.post(WEBHOOK, content=body, headers=headers)
    assert response.status_code == 403 and "từ chối" in response.json()["error"]
    assert rasa.received == [] and stored(hcc_env) == [] and api.calls == []


def test_a_replayed_event_is_processed_once_and_a_stale_one_refused(api, rasa, hcc_env):
    event = api.event("user_send_text", USER, "đăng ký khai sinh")
    stale = api.event("user_send_text", USER, "đăng ký kết hôn",
                      at_ms=int(time.time() * 1000) - (get_settings().zalo_event_max_age + 5) * 1000)
    with gateway() as client:
        assert post(client, api, event).status_code == 200
        api.wait_for_sends(2)
        assert post(client, api, event).status_code == 200  # Zalo's retry: acknowledged, not answered again
        assert post(client, api, stale).status_code == 403
        time.sleep(0.3)
    with gateway() as client:  # after a restart too: the message id is in the database
        assert post(client, api, event).status_code == 200
        time.sleep(0.3)
    assert rasa.messages() == ["đăng ký khai sinh"]
    assert len(api.sends()) == 2
    assert [row[:2] for row in stored(hcc_env)].count(("in", "citizen")) == 1


def test_rate_limit_errors_are_retried_with_a_pause(api, rasa):
    api.throttle_sends = 1
    with gateway() as client:
        post(client, api, api.event("user_send_text", USER, "giờ làm việc"))
        api.wait_for_sends(2)
    attempts = [call for call in api.calls if call.path == "send"]
    assert [call.answered for call in attempts] == [-32, 0, 0]
    assert attempts[1].at - attempts[0].at >= 0.95


def test_rate_limit_retries_are_bounded(api, rasa, monkeypatch):
    monkeypatch.setenv("HCC_ZALO_SEND_ATTEMPTS", "3")
    get_settings.cache_clear()
    api.throttle_sends = 10
    slept: list[float] = []

    async def sleep(delay: float) -> None:
        slept.append(delay)

    async def go() -> None:
        async with httpx.AsyncClient() as http:
            settings = get_settings()
            connection = zalo_api.Connection(http, settings, zalo_tokens.load(settings), sleep=sleep)
            with pytest.raises(zalo_api.SendFailed) as failed:
                await zalo_api.send(connection, USER, {"text": "xin chào"})
            assert failed.value.code == -32

    asyncio.run(go())
    assert api.answers("send") == [-32, -32, -32] and slept == [1.0, 2.0]


def test_follow_greets_unfollow_is_recorded_and_other_messages_get_a_text_only_note(api, rasa, hcc_env):
    with gateway() as client:
        post(client, api, api.event("follow", USER))
        api.wait_for_sends(2)
        post(client, api, api.event("user_send_sticker", USER))
        sent = api.wait_for_sends(3)
        post(client, api, api.event("unfollow", USER))
        time.sleep(0.3)
    assert rasa.messages() == [telegram.GREETING]
    assert texts(sent)[2] == telegram.non_text_reply()
    assert ("in", "system", "Công dân đã bỏ quan tâm Official Account.") in stored(hcc_env)
    assert len(api.sends()) == 3


def test_without_zalo_settings_the_channel_is_off_and_the_gateway_runs(rasa, servers):
    with gateway() as client:
        assert client.get("/health").status_code == 200
        assert client.post(WEBHOOK, json={"event_name": "user_send_text"}).status_code == 404
    assert servers[2].calls == []


def test_the_channel_accepts_hcc_prefixed_settings(monkeypatch, rasa):
    monkeypatch.setenv("HCC_ZALO_APP_ID", "1")
    monkeypatch.setenv("ZALO_APP_ID", "2")
    monkeypatch.setenv("HCC_ZALO_OA_SECRET", "s")
    monkeypatch.setenv("HCC_ZALO_ACCESS_TOKEN", "t")
    get_settings.cache_clear()
    assert get_settings().zalo_app_id == "1" and zalo.configured(get_settings())


def test_an_operator_reaches_a_zalo_citizen_and_a_refusal_outside_the_window_is_shown(api, rasa, hcc_env, caplog):
    with transaction() as session:
        login = open_session(session, add_staff(session, "lan", "operator", "mat-khau-dai-du-10", full_name="Trần Thị Lan"), "t")
    client = gateway()
    client.cookies.set("hcc_staff", login.token)
    headers = {"x-csrf-token": login.csrf_token, "origin": "http://testserver"}
    with caplog.at_level(logging.ERROR, logger="bot.channels"), client:
        post(client, api, api.event("user_send_text", USER, "cho tôi gặp tổng đài viên"))
        assert texts(api.wait_for_sends(1)) == [HANDOFF_REPLY]
        deadline = time.monotonic() + 10
        while not (items := client.get("/api/console/queue").json()["items"]):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        [item] = items
        assert item["channel"] == "zalo"
        assert client.post(f"/api/console/handoffs/{item['handoff_id']}/take", headers=headers).status_code == 200
        assert texts(api.wait_for_sends(2))[1] == "Tổng đài viên Trần Thị Lan đã tham gia cuộc trò chuyện."
        conversation = f"/api/console/conversations/{item['conversation_id']}"
        assert client.post(f"{conversation}/messages", json={"text": "Chào anh, em là Lan."}, headers=headers).status_code == 201
        assert texts(api.wait_for_sends(3))[2] == "Chào anh, em là Lan."

        asked = len(rasa.received)
        post(client, api, api.event("user_send_text", USER, "Tôi hỏi về hộ chiếu"))
        time.sleep(0.3)
        assert len(rasa.received) == asked  # held: the bot stays silent

        api.outside_window.add(USER)  # a week later, the citizen has not written again
        assert client.post(f"{conversation}/messages", json={"text": "Anh còn cần hỗ trợ không?"}, headers=headers).status_code == 201
        shown = client.get(conversation).json()["messages"]
    assert len(api.sends()) == 3 and api.answers("send")[-1] == -230
    note = shown[-1]
    assert note["author"] == "system" and "ngoài thời hạn tư vấn" in note["text"] and "Anh còn cần hỗ trợ không?" in note["text"]
    assert [m["author"] for m in shown[-2:]] == ["operator", "system"]
    assert "không gửi được: ngoài thời hạn tư vấn" in caplog.text


def test_deliver_sends_a_stored_message_and_says_when_the_channel_is_off(api, rasa):
    message = {"text": "Hồ sơ của anh/chị đã có kết quả.", "buttons": BUTTONS[:1]}
    assert asyncio.run(zalo.deliver(USER, message)) == 0  # the channel is not running: nothing sent
    with gateway() as client:
        assert client.portal.call(zalo.deliver, USER, message) == 1
    (sent,) = api.sends()
    assert sent["message"]["text"] == message["text"] and zalo_buttons(sent)[0]["payload"] == SHORT
