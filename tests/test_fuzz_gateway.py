"""Property-based fuzzing of every public endpoint of the gateway (hypothesis, derandomised, bounded).

Random Unicode (lone surrogates and control characters included), empty, huge and non-JSON bodies and frames go
through the REST webhook, the widget's WebSocket, the Telegram and Zalo webhooks (forged and genuine), the login,
and every staff API (as read from the app's routes) signed in with the right role. Whatever comes in: never a 500,
never a trace in the answer, and a refused input changes no row of any table."""
from __future__ import annotations

import json
import time
from typing import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from bot import auth
from bot.app import create_app
from bot.channels import telegram, zalo
from bot.channels.zalo_events import SIGNATURE_HEADER, signature
from fake_telegram import TOKEN, fake_telegram
from fake_zalo import APP_ID, APP_SECRET, FIRST_ACCESS, FIRST_REFRESH, OA_ID, OA_SECRET, fake_zalo
from knowledge_base import conversations
from knowledge_base.db import transaction
from knowledge_base.handoffs import request_handoff
from knowledge_base.tickets import open_ticket
from security_helpers import endpoints, module_env, row_counts
from staff_helpers import make_staff, signed_in
from test_gateway import WEBHOOK, fake_rasa  # noqa: F401 (fixture)

pytestmark = pytest.mark.timeout(120)

FUZZ = settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
SAME_SITE = {"origin": "http://testserver"}
TRACE_MARKERS = ("Traceback", 'File "', "Error:")  # a Python trace, or an exception's repr

# --- what hostile clients send ------------------------------------------------------------------

ANY_CHAR = st.characters(exclude_categories=())  # surrogates too: JSON's "\ud800" escapes decode to them
SPECIAL = st.sampled_from(["", " ", "\x00", "\r\n\t", "\u202e\u200b\ufeff", "\ud800", "\udfff x", "𝕳𝖔 𝖈𝖍𝖎𝖊̂́𝖚", "ﷺ" * 40,
                           "' OR 1=1 --", "\"; DROP TABLE messages; --", "<img src=x onerror=alert(1)>", "%s%n{0}",
                           "ho\u0323\u0302 chie\u0302\u0301u", "0912345678", "/inform{\"procedure\": \"x\"}", "/restart"])
TEXT = st.one_of(
    st.text(ANY_CHAR, max_size=200),
    st.text(st.characters(max_codepoint=0x1F) | st.sampled_from("\x7f\x85\u2028\u2029"), max_size=40),
    st.builds(lambda char, n: char * n, ANY_CHAR, st.integers(1_500, 30_000)),  # huge
    SPECIAL,
)
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3), max_leaves=8)
FIELD = TEXT | JSON
SHORT_TEXT = st.one_of(st.text(ANY_CHAR, max_size=200), SPECIAL)  # for URLs (the client refuses 64 kB ones)
RAW = st.one_of(st.binary(max_size=3_000), TEXT.map(lambda text: text.encode("utf-8", "surrogatepass")),
                st.just(b"\x00" * 20_000), st.just(b"{" * 5_000))


def as_json(value) -> bytes:
    return json.dumps(value).encode()  # ASCII with escapes: lone surrogates travel as "\ud800"


def body_of(value) -> bytes:
    return value if isinstance(value, bytes) else as_json(value)


def assert_clean(response) -> None:
    assert response.status_code != 500 and response.status_code < 600, response.text[:300]
    assert not any(marker in response.text for marker in TRACE_MARKERS), response.text[:300]


# --- the gateway, with every channel on, against fakes ------------------------------------------

@pytest.fixture(scope="module")
def gateway(fake_rasa, tmp_path_factory) -> Iterator[tuple[TestClient, str, dict]]:  # noqa: F811
    """The app in webhook mode for Telegram, with Zalo configured, limits off; yields (client, db url, fixtures)."""
    with fake_telegram() as bot_api, fake_zalo() as zalo_api:
        env = {"HCC_RASA_PORT": str(fake_rasa.port), "HCC_ACTION_PORT": str(fake_rasa.port), "HCC_RASA_TIMEOUT": "2",
               "HCC_RATE_LIMIT_PER_MINUTE": "0", "HCC_RATE_LIMIT_PER_IP_PER_MINUTE": "0",
               "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_URL": "https://hcc.example.vn/webhooks/telegram",
               "HCC_TELEGRAM_API_URL": bot_api.api_url, "HCC_TELEGRAM_SEND_ATTEMPTS": "1",
               "ZALO_APP_ID": APP_ID, "ZALO_APP_SECRET": APP_SECRET, "ZALO_OA_SECRET": OA_SECRET,
               "ZALO_ACCESS_TOKEN": FIRST_ACCESS, "ZALO_REFRESH_TOKEN": FIRST_REFRESH,
               "HCC_ZALO_API_URL": zalo_api.api_url, "HCC_ZALO_OAUTH_URL": zalo_api.api_url,
               "HCC_LOGIN_LIMIT": "1000000", "HCC_LOGIN_IP_LIMIT": "1000000"}
        with module_env(tmp_path_factory.mktemp("fuzz"), **env) as url:
            fake_rasa.database_url, fake_rasa.mode = url, "ok"
            make_staff("quantri", role="admin")
            make_staff("lan")
            with transaction() as session:
                conversation = conversations.get_or_create(session, "widget", "fuzz-conversation-0001")
                handoff = request_handoff(session, conversation, "request")
                ticket = open_ticket(session, "complaint", "Hồ sơ trễ hẹn", contact_phone="0912345678",
                                     conversation_id=conversation.id)
                params = {"conversation_id": str(conversation.id), "handoff_id": str(handoff.handoff_id),
                          "number": ticket.number}
            with TestClient(create_app(), base_url="http://testserver") as client:
                deadline = time.monotonic() + 10
                while not bot_api.calls_to("setWebhook") and time.monotonic() < deadline:
                    time.sleep(0.05)
                staff = {"admin": signed_in("quantri"), "operator": signed_in("lan")}
                operator, csrf = staff["operator"]  # the operator holds the conversation: replies and notes go deep
                taken = operator.post(f"/api/console/handoffs/{params['handoff_id']}/take", headers={**SAME_SITE, auth.CSRF_HEADER: csrf})
                assert taken.status_code == 200, taken.text
                yield client, url, {"params": params, "staff": staff, "secret": telegram_secret()}


def telegram_secret() -> str:
    from bot.settings import get_settings

    return get_settings().telegram_webhook_secret


# --- citizen channels ---------------------------------------------------------------------------

@FUZZ
@given(body=st.one_of(RAW, JSON, st.fixed_dictionaries({"sender": FIELD, "message": FIELD}),
                      st.fixed_dictionaries({"sender": st.text(min_size=1, max_size=40), "message": TEXT})))
def test_rest_webhook(gateway, body):
    client, url, _ = gateway
    before = row_counts(url)
    response = client.post(WEBHOOK, content=body_of(body), headers={"content-type": "application/json"})
    assert_clean(response)
    assert response.status_code in (200, 400, 413), response.text[:300]
    if response.status_code != 200:
        assert response.json()["error"] and row_counts(url) == before
    else:
        assert all(isinstance(reply["text"], str) for reply in response.json())


WIDGET_FRAME = st.one_of(
    TEXT, RAW,
    st.fixed_dictionaries({"type": st.just("message"), "text": FIELD, "client_id": FIELD}),
    st.fixed_dictionaries({"type": st.just("message"), "text": TEXT, "client_id": st.from_regex(r"[a-z0-9]{1,20}", fullmatch=True)}),
    st.fixed_dictionaries({"type": st.just("hello"), "conversation": FIELD, "after": FIELD}),
    st.fixed_dictionaries({"type": FIELD | st.sampled_from(["typing", "ping", "hello", "message"]), "on": FIELD}),
    JSON,
)
KNOWN_FRAMES = {"ready", "message", "typing", "error", "pong"}


@FUZZ
@given(hello=st.booleans(), frame=WIDGET_FRAME)
def test_widget_frames(gateway, hello, frame):
    client, url, _ = gateway
    with client.websocket_connect("/ws/widget") as socket:
        if hello:
            socket.send_json({"type": "hello", "conversation": "fuzz-widget-conversation", "after": 10**9})
            assert socket.receive_json()["type"] == "ready"
        before = row_counts(url)
        if isinstance(frame, bytes):
            socket.send_bytes(frame)
        else:
            socket.send_text(frame if isinstance(frame, str) else json.dumps(frame))
        answers = _answers_until_pong(socket)
        assert {answer["type"] for answer in answers} <= KNOWN_FRAMES
        if any(answer["type"] == "error" for answer in answers):
            assert row_counts(url) == before  # refused: nothing stored


TELEGRAM_UPDATE = st.fixed_dictionaries({
    "update_id": st.integers(1, 2**31),
    "message": st.fixed_dictionaries({"message_id": st.integers(1, 10**6), "date": st.integers(0, 2**31),
                                      "chat": st.fixed_dictionaries({"id": st.integers(1, 10**9), "type": st.just("private")}),
                                      "from": st.fixed_dictionaries({"id": st.integers(1, 10**9), "is_bot": st.just(False),
                                                                     "first_name": TEXT}),
                                      "text": TEXT}),
})


@FUZZ
@given(body=st.one_of(RAW, JSON, TELEGRAM_UPDATE), secret=st.one_of(st.none(), st.text(max_size=80), st.just("right")))
def test_telegram_webhook(gateway, body, secret):
    client, url, fixtures = gateway
    headers = {"content-type": "application/json"}
    if secret is not None:
        given = fixtures["secret"] if secret == "right" else secret
        headers[telegram.SECRET_HEADER] = given.encode("ascii", "ignore").decode() or "x"
    genuine = headers.get(telegram.SECRET_HEADER) == fixtures["secret"]
    before = row_counts(url)
    response = client.post("/webhooks/telegram", content=body_of(body), headers=headers)
    assert_clean(response)
    if not genuine:
        assert response.status_code == 403 and row_counts(url) == before
    else:
        assert response.status_code in (200, 400), response.text[:300]
        if response.status_code == 400:
            assert row_counts(url) == before


ZALO_EVENT = st.fixed_dictionaries({
    "app_id": st.just(APP_ID), "sender": st.fixed_dictionaries({"id": st.from_regex(r"[0-9]{5,19}", fullmatch=True)}),
    "recipient": st.just({"id": OA_ID}), "event_name": st.sampled_from(["user_send_text", "follow", "user_send_image"]) | TEXT,
    "message": st.fixed_dictionaries({"msg_id": st.text(max_size=30), "text": FIELD}), "timestamp": st.just("now"),
})


@FUZZ
@given(event=st.one_of(ZALO_EVENT, RAW, JSON), signed=st.booleans(), header=st.text(max_size=80))
def test_zalo_webhook(gateway, event, signed, header):
    client, url, _ = gateway
    if isinstance(event, dict) and event.get("timestamp") == "now":
        event = {**event, "timestamp": str(int(time.time() * 1000))}
    body = body_of(event)
    if signed and isinstance(event, dict) and event.get("app_id") == APP_ID:
        header = signature(str(event.get("app_id") or ""), body, str(event.get("timestamp") or ""), OA_SECRET)
    else:
        signed = False
    before = row_counts(url)
    response = client.post("/webhooks/zalo", content=body,
                           headers={SIGNATURE_HEADER: header.encode("ascii", "ignore").decode(), "content-type": "application/json"})
    assert_clean(response)
    if not signed:
        assert response.status_code in (403, 413) and row_counts(url) == before
    else:
        assert response.status_code in (200, 400, 413), response.text[:300]
        deadline = time.monotonic() + 5  # a turn may outlive the 200; the next example counts rows
        while zalo._turns and time.monotonic() < deadline:
            time.sleep(0.01)


# --- staff side ---------------------------------------------------------------------------------

@FUZZ
@given(body=st.one_of(RAW, JSON, st.fixed_dictionaries({"username": FIELD, "password": FIELD})),
       content_type=st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded", ""]))
def test_login(gateway, body, content_type):
    client, url, _ = gateway
    before = row_counts(url)
    response = TestClient(client.app, base_url="http://testserver").post(
        "/api/auth/login", content=body_of(body), headers={"content-type": content_type})
    assert_clean(response)
    assert response.status_code in (400, 401), response.text[:300]
    after = row_counts(url)
    # A failed attempt is audited (and counts towards the login limit); nothing else changes.
    assert {k: v for k, v in after.items() if k != "audit_log"} == {k: v for k, v in before.items() if k != "audit_log"}
    assert after.get("audit_log", 0) - before.get("audit_log", 0) <= (1 if response.status_code == 401 else 0)


# Logging out would end the sessions the rest of the run signs in with (the logout itself is swept in test_authz).
STAFF_CALLS = [(e, m) for e in endpoints() if e.role is not None and not e.websocket and e.path.startswith("/api/")
               and e.path != "/api/auth/logout" for m in e.methods]


def staff_url(path: str, params: dict, fuzzed: str) -> str:
    from urllib.parse import quote

    from security_helpers import PARAM

    def fill(match) -> str:
        if match.group(2) == "int":
            return params.get(match.group(1), "1")
        return quote(fuzzed.encode("utf-8", "surrogatepass"), safe="") or params.get(match.group(1), "x")

    return PARAM.sub(fill, path)


@settings(FUZZ, max_examples=200)  # ~40 routes share these examples
@given(call=st.sampled_from(STAFF_CALLS), body=st.one_of(RAW, JSON), path_text=SHORT_TEXT,
       query=st.dictionaries(st.sampled_from(["status", "kind", "assigned", "overdue", "from", "to", "q", "page"]), SHORT_TEXT, max_size=3),
       as_operator=st.booleans())
def test_staff_apis(gateway, call, body, path_text, query, as_operator):
    client, url, fixtures = gateway
    endpoint, method = call
    role = "operator" if as_operator or endpoint.role == "operator" else "admin"
    browser, csrf = fixtures["staff"][role]
    target = staff_url(endpoint.path, fixtures["params"], path_text)
    query = {key: value.encode("utf-8", "surrogatepass").decode("utf-8", "replace") for key, value in query.items()}
    before = row_counts(url)
    response = browser.request(method, target, params=query, content=body_of(body),
                               headers={**SAME_SITE, auth.CSRF_HEADER: csrf, "content-type": "application/json"})
    assert_clean(response)
    if role == "operator" and endpoint.role == "admin":
        assert response.status_code in (403, 404)  # 404: the fuzzed path matched no route at all (e.g. an encoded "/")
    if response.status_code >= 400:  # refused; a GET may write by design (the learning inbox collects on read)
        after = row_counts(url)
        assert after == before, (method, target, response.status_code, {k: (before.get(k), v) for k, v in after.items() if before.get(k) != v})


CONSOLE_FRAME = st.one_of(
    TEXT, JSON,
    st.fixed_dictionaries({"type": st.just("reply"), "text": FIELD, "client_id": FIELD}),
    st.fixed_dictionaries({"type": st.just("open"), "conversation_id": FIELD | st.integers(), "after": FIELD}),
    st.fixed_dictionaries({"type": FIELD | st.sampled_from(["typing", "ping", "open", "reply"]), "on": FIELD}),
)


@FUZZ
@given(frame=CONSOLE_FRAME)
def test_console_websocket_frames(gateway, frame):
    client, url, fixtures = gateway
    browser, _ = fixtures["staff"]["operator"]
    with browser.websocket_connect("/ws/console", headers=SAME_SITE) as socket:
        assert socket.receive_json()["type"] == "hello"
        socket.send_json({"type": "open", "conversation_id": int(fixtures["params"]["conversation_id"]), "after": 10**9})
        before = row_counts(url)
        socket.send_text(frame if isinstance(frame, str) else json.dumps(frame))
        answers = _answers_until_pong(socket)
        if any(answer["type"] == "error" for answer in answers):
            assert row_counts(url) == before


def _answers_until_pong(socket) -> list[dict]:
    """Every frame the socket answers up to the pong of a ping sent now; none may carry a trace."""
    socket.send_json({"type": "ping"})
    answers = []
    while not answers or answers[-1].get("type") != "pong":
        raw = socket.receive_text()
        assert not any(marker in raw for marker in TRACE_MARKERS), raw[:300]
        answers.append(json.loads(raw))
    return answers
