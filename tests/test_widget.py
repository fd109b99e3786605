"""The widget's WebSocket protocol (``/ws/widget``) and static files, against the fake Rasa of test_gateway."""
from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from bot import delivery
from bot.app import create_app
from bot.settings import get_settings
from knowledge_base import conversations
from knowledge_base.db import session_factory, transaction
from knowledge_base.models import Conversation
from test_gateway import BUTTONS, fake_rasa, rasa, stored  # noqa: F401  (fixtures shared with the REST channel)

CONVERSATION = "conv_ABCDEFGHIJKLmnop"
SOCKET = "/ws/widget"


@pytest.fixture
def client(rasa):
    with TestClient(create_app()) as client:
        yield client


def hello(ws, conversation: str = CONVERSATION, after: int = 0) -> list[dict]:
    """Say hello; the frames up to and including "ready"."""
    ws.send_json({"type": "hello", "conversation": conversation, "after": after})
    return until(ws, lambda frame: frame["type"] == "ready")


def until(ws, done) -> list[dict]:
    frames = []
    while True:
        frames.append(ws.receive_json())
        if done(frames[-1]):
            return frames


def turn(ws, text: str, client_id: str) -> list[dict]:
    """Send one message; every frame up to the end of its typing indicator."""
    ws.send_json({"type": "message", "text": text, "client_id": client_id})
    return until(ws, lambda frame: frame == {"type": "typing", "on": False})


def messages(frames: list[dict]) -> list[dict]:
    return [frame for frame in frames if frame["type"] == "message"]


def nothing_more(ws) -> None:
    """Frames are answered in order, so a pong right after means nothing else was pending."""
    ws.send_json({"type": "ping"})
    assert ws.receive_json() == {"type": "pong"}


def test_hello_on_a_new_conversation_sends_no_history_and_names_the_center(client):
    with client.websocket_connect(SOCKET) as ws:
        frames = hello(ws)
    settings = get_settings()
    assert frames == [{"type": "ready", "conversation": CONVERSATION, "last_id": 0,
                       "center": settings.center_name, "hotline": settings.hotline}]


def test_a_message_round_trip_is_pushed_with_ids_and_stored(client, rasa, hcc_env):
    with client.websocket_connect(SOCKET) as ws:
        hello(ws)
        frames = turn(ws, "Làm hộ chiếu cần gì?", "c-1")
        nothing_more(ws)
    assert frames[0] == {"type": "typing", "on": True}
    pushed = messages(frames)
    assert [(m["author"], m["text"], m["client_id"]) for m in pushed] == [
        ("citizen", "Làm hộ chiếu cần gì?", "c-1"),
        ("bot", "Đã nhận: Làm hộ chiếu cần gì?", None),
        ("bot", "Anh/chị hỏi thủ tục nào?", None),
    ]
    assert pushed[2]["buttons"] == BUTTONS and pushed[1]["buttons"] == []
    ids = [m["id"] for m in pushed]
    assert ids == sorted(ids) and len(set(ids)) == 3
    assert all(m["at"].endswith("+00:00") for m in pushed)
    assert stored(hcc_env) == [
        ("in", "citizen", "Làm hộ chiếu cần gì?", None),
        ("out", "bot", "Đã nhận: Làm hộ chiếu cần gì?", None),
        ("out", "bot", "Anh/chị hỏi thủ tục nào?", {"buttons": BUTTONS}),
    ]
    assert [(body["sender"], body["message"]) for body in rasa.received] == [(f"widget:{CONVERSATION}", "Làm hộ chiếu cần gì?")]
    with session_factory(hcc_env)() as session:
        assert session.scalars(select(Conversation.channel)).all() == ["widget"]


def test_a_reconnect_gets_the_history_after_the_last_id_it_saw(client):
    with client.websocket_connect(SOCKET) as ws:
        hello(ws)
        first = messages(turn(ws, "câu một", "c-1"))
    with client.websocket_connect(SOCKET) as ws:  # a reload: everything
        everything = messages(hello(ws))
    assert everything == first
    with client.websocket_connect(SOCKET) as ws:  # a reconnect that had seen the first message only
        after_first = messages(hello(ws, after=first[0]["id"]))
        assert hello(ws, after=first[0]["id"])[-1]["last_id"] == first[-1]["id"]  # a second hello sends nothing again
    assert after_first == first[1:]
    with client.websocket_connect(SOCKET) as ws:  # another conversation sees none of it
        assert messages(hello(ws, conversation="another_conversation_1")) == []


def test_the_first_hello_is_capped_to_the_latest_messages_and_a_catch_up_gets_them_all(client, monkeypatch):
    with client.websocket_connect(SOCKET) as ws:
        hello(ws)
        sent = [m for n in range(3) for m in messages(turn(ws, f"câu {n}", f"c-{n}"))]
    monkeypatch.setenv("HCC_WIDGET_HISTORY", "4")
    get_settings.cache_clear()
    with client.websocket_connect(SOCKET) as ws:
        assert messages(hello(ws)) == sent[-4:]
    with client.websocket_connect(SOCKET) as ws:  # eight missed, read in pages of four: none dropped
        assert messages(hello(ws, after=sent[0]["id"])) == sent[1:]


@pytest.mark.parametrize("frame, reason", [
    ("not json", "JSON hợp lệ"),
    ("[1, 2]", '"type"'),
    ('{"type": "shout"}', '"type"'),
    ('{"type": "hello", "conversation": "short"}', "16–64"),
    ('{"type": "hello", "conversation": "has spaces in it, twenty"}', "16–64"),
    ('{"type": "hello", "conversation": "conv_ABCDEFGHIJKLmnop", "after": -1}', '"after"'),
    ('{"type": "hello", "conversation": "conv_ABCDEFGHIJKLmnop", "after": "5"}', '"after"'),
    ('{"type": "hello", "conversation": "conv_ABCDEFGHIJKLmnop", "after": true}', '"after"'),
    ('{"type": "message", "text": "xin chào", "client_id": "c-1"}', '"hello"'),
])
def test_bad_frames_get_a_vietnamese_error_and_the_connection_stays(client, rasa, hcc_env, frame, reason):
    with client.websocket_connect(SOCKET) as ws:
        ws.send_text(frame)
        error = ws.receive_json()
        assert error["type"] == "error" and reason in error["text"], error
        nothing_more(ws)
        hello(ws)  # still usable
    assert stored(hcc_env) == [] and rasa.received == []


@pytest.mark.parametrize("frame, reason", [
    ({"type": "message", "text": "xin chào"}, '"client_id"'),
    ({"type": "message", "text": "xin chào", "client_id": "có dấu"}, '"client_id"'),
    ({"type": "message", "text": "xin chào", "client_id": "x" * 65}, '"client_id"'),
    ({"type": "message", "text": 5, "client_id": "c-1"}, '"text"'),
])
def test_bad_messages_after_hello_are_refused_and_nothing_is_stored(client, rasa, hcc_env, frame, reason):
    with client.websocket_connect(SOCKET) as ws:
        hello(ws)
        ws.send_json(frame)
        error = ws.receive_json()
        assert error["type"] == "error" and reason in error["text"], error
        nothing_more(ws)
    assert stored(hcc_env) == [] and rasa.received == []


def test_binary_and_oversized_frames_are_refused(client, rasa, hcc_env):
    limit = get_settings().max_body_bytes
    with client.websocket_connect(SOCKET) as ws:
        hello(ws)
        ws.send_bytes(b'{"type": "ping"}')
        assert "nhị phân" in ws.receive_json()["text"]
        ws.send_text(json.dumps({"type": "message", "text": "a" * limit, "client_id": "c-1"}))
        assert ws.receive_json() == {"type": "error", "text": f"Khung tin quá lớn (tối đa {limit} byte)."}
        nothing_more(ws)
    assert stored(hcc_env) == []


@pytest.mark.parametrize("text", ["   ", "x" * 2001])
def test_empty_or_too_long_text_is_refused_for_that_message_and_not_stored(client, rasa, hcc_env, text):
    with client.websocket_connect(SOCKET) as ws:
        hello(ws)
        frames = turn(ws, text, "c-9")
    errors = [frame for frame in frames if frame["type"] == "error"]
    assert len(errors) == 1 and errors[0]["client_id"] == "c-9" and "Anh/chị" in errors[0]["text"]
    assert messages(frames) == [] and stored(hcc_env) == [] and rasa.received == []


def test_a_duplicate_client_id_is_stored_and_answered_once(client, rasa, hcc_env):
    with client.websocket_connect(SOCKET) as ws:
        hello(ws)
        first = messages(turn(ws, "tra cứu hồ sơ", "same-id"))
        again = turn(ws, "tra cứu hồ sơ", "same-id")
        nothing_more(ws)
    assert len(first) == 3 and messages(again) == []
    assert [row[:2] for row in stored(hcc_env)] == [("in", "citizen"), ("out", "bot"), ("out", "bot")]
    assert len(rasa.received) == 1


def test_while_an_operator_holds_it_the_message_is_echoed_and_stored_but_the_bot_is_silent(client, rasa, hcc_env):
    with transaction() as session:
        conversations.get_or_create(session, "widget", CONVERSATION).state = "operator"
    with client.websocket_connect(SOCKET) as ws:
        hello(ws)
        pushed = messages(turn(ws, "chị ơi cho em hỏi", "c-1"))
        nothing_more(ws)
    assert [(m["author"], m["text"]) for m in pushed] == [("citizen", "chị ơi cho em hỏi")]
    assert stored(hcc_env) == [("in", "citizen", "chị ơi cho em hỏi", None)] and rasa.received == []


def test_when_rasa_fails_the_widget_shows_the_stored_apology(client, rasa, hcc_env):
    rasa.mode = "error"
    with client.websocket_connect(SOCKET) as ws:
        hello(ws)
        pushed = messages(turn(ws, "xin chào", "c-1"))
    assert [m["author"] for m in pushed] == ["citizen", "system"]
    assert get_settings().hotline in pushed[1]["text"] and isinstance(pushed[1]["id"], int)


def _operator_message(text: str) -> dict:
    with transaction() as session:
        conversation = conversations.get_or_create(session, "widget", CONVERSATION)
        return delivery.outbound(conversations.record_message(session, conversation, "out", "operator", text))


def test_deliver_pushes_an_operator_message_to_every_open_socket_of_the_conversation(client, hcc_env):
    with client.websocket_connect(SOCKET) as one, client.websocket_connect(SOCKET) as two, \
            client.websocket_connect(SOCKET) as other:
        hello(one)
        hello(two)
        hello(other, conversation="another_conversation_1")
        message = _operator_message("Chào anh, em là tổng đài viên <b>Lan</b>.")
        assert client.portal.call(delivery.deliver, "widget", CONVERSATION, message) == 2
        for ws in (one, two):
            frame = ws.receive_json()
            assert frame == {"type": "message", **message}
            assert (frame["author"], frame["text"]) == ("operator", "Chào anh, em là tổng đài viên <b>Lan</b>.")
            nothing_more(ws)
        nothing_more(other)
    assert delivery.listening("widget", CONVERSATION) == 0
    # With no socket open it waits in the database and the next hello brings it.
    late = _operator_message("Anh còn cần hỗ trợ gì không ạ?")
    assert client.portal.call(delivery.deliver, "widget", CONVERSATION, late) == 0
    with client.websocket_connect(SOCKET) as ws:
        assert messages(hello(ws, after=message["id"])) == [{"type": "message", **late}]


def test_a_message_sent_in_one_tab_appears_in_the_other(client):
    with client.websocket_connect(SOCKET) as one, client.websocket_connect(SOCKET) as two:
        hello(one)
        hello(two)
        sent = messages(turn(one, "hộ chiếu", "c-1"))
        seen = [two.receive_json() for _ in sent]
        nothing_more(two)
    assert seen == sent


def test_the_full_page_and_the_widget_files_are_served(client, monkeypatch):
    monkeypatch.setenv("HCC_CENTER_NAME", 'Trung tâm "Thử" <Tỉnh>')
    get_settings.cache_clear()
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<script src="/widget.js" data-mode="page" data-title="Trung tâm &quot;Thử&quot; &lt;Tỉnh&gt;">' in page.text
    script = client.get("/widget.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert "/ws/widget" in script.text and "innerHTML" not in script.text
    assert client.get("/widget/widget.css").headers["content-type"].startswith("text/css")
    assert client.get("/widget/avatar.svg").headers["content-type"] == "image/svg+xml"
    assert client.get("/widget/..%2Fsettings.py").status_code == 404
    assert client.get("/widget/index.html").status_code == 404


def test_deliver_passes_the_operator_typing_on_and_nothing_else_that_is_not_a_stored_message(client):
    with client.websocket_connect(SOCKET) as ws:
        hello(ws)
        assert client.portal.call(delivery.deliver, "widget", CONVERSATION, {"type": "typing", "on": True}) == 1
        assert ws.receive_json() == {"type": "typing", "on": True}
        client.portal.call(delivery.deliver, "widget", CONVERSATION, {"type": "ready", "text": "<script>"})
        client.portal.call(delivery.deliver, "widget", CONVERSATION, {"text": "chưa lưu, không có id"})
        nothing_more(ws)


def test_the_citizen_typing_reaches_the_consoles(client):
    from bot.console import hub

    heard: list[dict] = []

    async def listener(event: dict) -> None:
        heard.append(event)

    hub.subscribe(listener)
    try:
        with client.websocket_connect("/ws/widget") as ws:
            ws.send_json({"type": "typing", "on": True})  # before hello: no conversation, nothing published
            hello(ws)
            ws.send_json({"type": "typing", "on": True})
            ws.send_json({"type": "ping"})
            until(ws, lambda frame: frame["type"] == "pong")
    finally:
        hub.unsubscribe(listener)
    assert [e for e in heard if e["type"] == "typing"] == [
        {"type": "typing", "author": "citizen", "channel": "widget", "sender": CONVERSATION, "on": True}]


PORTAL = "https://hcc.quangninh.gov.vn"  # the province portal, which embeds widget.js with one script tag
FOREIGN = ["https://evil.example", "http://hcc.quangninh.gov.vn", "https://hcc.quangninh.gov.vn.evil.example",
           "https://hcc.quangninh.gov.vn:8443", "null"]


@pytest.fixture
def portal_listed(rasa, monkeypatch):
    """HCC_WIDGET_ORIGINS lists the portal (written as an IT team might: trailing slash, a second site)."""
    monkeypatch.setenv("HCC_WIDGET_ORIGINS", f"{PORTAL}/ , https://dichvucong.quangninh.gov.vn")
    get_settings.cache_clear()


def opens(client: TestClient, headers: dict[str, str]) -> bool:
    """Whether a socket with ``headers`` gets through the handshake and is served (hello answered by ready)."""
    try:
        with client.websocket_connect(SOCKET, headers=headers) as ws:
            return hello(ws)[-1]["type"] == "ready"
    except WebSocketDisconnect as refusal:
        assert refusal.code == 4403  # refused before accept(): the browser's handshake got 403
        return False


def test_the_gateways_own_page_and_a_listed_portal_open_the_widget_and_other_sites_are_refused(
        client, portal_listed, caplog):
    assert opens(client, {"origin": "http://testserver"})  # the full-page chat at /, listed or not
    assert opens(client, {"origin": PORTAL})
    assert opens(client, {"origin": "https://dichvucong.quangninh.gov.vn"})
    with caplog.at_level("WARNING", logger="bot.channels.widget"):
        for origin in FOREIGN:
            assert not opens(client, {"origin": origin}), origin
    assert sum("HCC_WIDGET_ORIGINS" in record.getMessage() for record in caplog.records) == len(FOREIGN)


def test_by_default_only_the_gateways_own_pages_open_it(client, monkeypatch):
    monkeypatch.delenv("HCC_WIDGET_ORIGINS", raising=False)
    get_settings.cache_clear()
    assert get_settings().widget_origins == ()
    assert opens(client, {"origin": "http://testserver"})
    assert not opens(client, {"origin": PORTAL})


def test_a_star_lets_any_site_embed_it(client, monkeypatch):
    monkeypatch.setenv("HCC_WIDGET_ORIGINS", "*")
    get_settings.cache_clear()
    assert all(opens(client, {"origin": origin}) for origin in FOREIGN)


def test_a_client_without_origin_is_no_browser_and_is_let_in(client, portal_listed):
    """Browsers always send Origin on a WebSocket handshake, so the check stops other sites' pages; any other client
    can send whatever Origin it likes, so refusing a missing one would protect nothing (and break scripts, probes)."""
    assert opens(client, {})


def test_the_browser_of_a_foreign_page_gets_403_from_uvicorn(portal_listed):
    """As under `hcc run` (uvicorn, wsproto): the refusal is the handshake's HTTP status, not a closed socket."""
    import asyncio

    import websockets

    from loopback_server import serving
    from stack import free_port

    async def status(url: str, origin: str) -> int:
        try:
            async with websockets.connect(url, origin=origin, open_timeout=10):
                return 101
        except websockets.InvalidStatusCode as refusal:
            return refusal.status_code

    port = free_port()
    with serving(create_app(), port):
        url = f"ws://127.0.0.1:{port}{SOCKET}"
        assert asyncio.run(status(url, "https://evil.example")) == 403
        assert asyncio.run(status(url, PORTAL)) == 101


@pytest.mark.parametrize("value, origins", [
    ("", ()), (" * ", ("*",)),
    ("https://HCC.QuangNinh.gov.vn/, http://127.0.0.1:8080,https://x.gov.vn:443", (
        "https://hcc.quangninh.gov.vn", "http://127.0.0.1:8080", "https://x.gov.vn")),
])
def test_widget_origins_are_read_as_browsers_write_origins(monkeypatch, value, origins):
    from bot.settings import from_environ

    monkeypatch.setenv("HCC_WIDGET_ORIGINS", value)
    assert from_environ().widget_origins == origins


@pytest.mark.parametrize("entry", ["hcc.quangninh.gov.vn", "https://hcc.quangninh.gov.vn/trang-chu", "ftp://x.gov.vn",
                                   "https://user@x.gov.vn", "https://x.gov.vn:cong"])
def test_an_entry_that_is_not_an_origin_stops_the_start_with_a_message_naming_it(monkeypatch, entry):
    from bot.settings import from_environ

    monkeypatch.setenv("HCC_WIDGET_ORIGINS", f"{PORTAL}, {entry}")
    with pytest.raises(ValueError, match=f"HCC_WIDGET_ORIGINS: «{re.escape(entry)}» không phải một origin"):
        from_environ()
