"""Two whole stacks (gateway + Rasa + action server each, own ports) sharing one PostgreSQL schema and one Redis:
a citizen on instance A is taken by an operator on instance B and they talk both ways; one conversation's
messages sent to A and B at once are handled one after the other, each answered once; an FAQ entry published
through A is answered through B within 2 s."""
from __future__ import annotations

import asyncio
import json
import secrets
import time
from contextlib import ExitStack
from typing import Callable

import httpx
import pytest
import websockets
from sqlalchemy import func, select

import stack as harness
from bot.settings import get_settings
from knowledge_base.db import session_factory
from knowledge_base.models import Conversation, Message
from shared_storage import rasa_events, required, seeded, throwaway
from staff_helpers import PASSWORD

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(600)]

FRAME_TIMEOUT = 15.0  # seconds any one expected frame may take
LIVE_SECONDS = 2.0
# Every sender of this run starts so, which tells this run's rows from any other's.
RUN = f"inst-{secrets.token_hex(4)}-"


@pytest.fixture(scope="module")
def instances(tmp_path_factory):
    """Instances A and B over the demo data in one throw-away PostgreSQL schema and one Redis (own key prefix)."""
    postgres, redis_url = required("HCC_TEST_POSTGRES_URL"), required("HCC_TEST_REDIS_URL")
    workdir = tmp_path_factory.mktemp("instances")
    with throwaway(postgres, redis_url) as (database_url, prefix):
        shared = {**harness.stack_env(workdir), "HCC_DATABASE_URL": database_url, "HCC_REDIS_URL": redis_url,
                  "HCC_REDIS_PREFIX": prefix, "HCC_OFFICE_HOURS": "mon-sun 00:00-23:59", "HCC_HOLIDAYS": "none",
                  "HCC_CONSOLE_TICK_SECONDS": "0.2", "HCC_PHONE_SALT": "instances-test-salt"}
        with seeded(shared, workdir) as model, ExitStack() as stacks:
            a = stacks.enter_context(harness.running({**shared, "HCC_VAR_DIR": str(workdir / "a")}, model, workdir / "a"))
            b = stacks.enter_context(harness.running({**shared, "HCC_VAR_DIR": str(workdir / "b")}, model, workdir / "b"))
            yield a, b


def ws_url(stack: harness.Stack, path: str) -> str:
    return stack.gateway_url.replace("http://", "ws://") + path


async def until(socket, predicate: Callable[[dict], bool], what: str, seconds: float = FRAME_TIMEOUT) -> dict:
    """The first frame ``predicate`` accepts (others skipped), or a failure naming ``what`` never came."""
    deadline = time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        try:
            frame = json.loads(await asyncio.wait_for(socket.recv(), timeout=max(left, 0.01)))
        except asyncio.TimeoutError:
            raise AssertionError(f"{what}: never came within {seconds:.0f} s") from None
        if predicate(frame):
            return frame


async def sign_in(client: httpx.AsyncClient, base: str, username: str) -> tuple[str, str]:
    """The session cookie and CSRF token of ``username`` on the gateway at ``base``."""
    response = await client.post(f"{base}/api/auth/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return response.cookies["hcc_staff"], response.json()["csrf_token"]


def test_a_citizen_on_one_instance_talks_with_an_operator_on_the_other(instances):
    a, b = instances
    asyncio.run(_handoff_across(a, b))


async def _handoff_across(a: harness.Stack, b: harness.Stack) -> None:
    conversation = f"{RUN}{secrets.token_hex(10)}"
    async with httpx.AsyncClient(timeout=30) as http:
        cookie, csrf = await sign_in(http, b.gateway_url, "lan")
        console_headers = {"Origin": b.gateway_url, "Cookie": f"hcc_staff={cookie}"}
        async with websockets.connect(ws_url(a, "/ws/widget")) as widget, \
                websockets.connect(ws_url(b, "/ws/console"), extra_headers=console_headers) as console:
            hello = await until(console, lambda f: f["type"] == "hello", "the console's hello on B")
            assert hello["staff"]["full_name"] == "Nguyễn Thị Lan"
            await widget.send(json.dumps({"type": "hello", "conversation": conversation, "after": 0}))
            await until(widget, lambda f: f["type"] == "ready", "the widget's ready on A")

            await widget.send(json.dumps({"type": "message", "text": "cho tôi gặp tổng đài viên", "client_id": "c1"}))
            queued = await until(widget, lambda f: f["type"] == "message" and f["author"] == "bot", "the bot's answer on A")
            assert "vị trí số" in queued["text"]

            # The handoff was written by A's action server; B's console hears of it.
            def waiting(frame: dict) -> bool:
                return frame["type"] == "queue" and any(item["channel"] == "widget" and item["status"] == "waiting"
                                                        for item in frame["items"])
            queue = await until(console, waiting, "the handoff in B's queue")
            [item] = [item for item in queue["items"] if item["channel"] == "widget"]
            assert item["last_message"] == "cho tôi gặp tổng đài viên"

            took = await http.post(f"{b.gateway_url}/api/console/handoffs/{item['handoff_id']}/take",
                                   headers={"x-csrf-token": csrf})
            assert took.status_code == 200, took.text
            joined = await until(widget, lambda f: f["type"] == "message" and f["author"] == "system",
                                 "the operator's arrival on A's widget")
            assert joined["text"] == "Tổng đài viên Nguyễn Thị Lan đã tham gia cuộc trò chuyện."

            await console.send(json.dumps({"type": "open", "conversation_id": item["conversation_id"], "after": 0}))
            await until(console, lambda f: f["type"] == "message" and f["author"] == "system", "the transcript on B")
            await console.send(json.dumps({"type": "reply", "text": "Chào anh/chị, em là Lan.", "client_id": "r1"}))
            assert (await until(console, lambda f: f["type"] == "sent", "the reply's receipt on B"))["client_id"] == "r1"
            said = await until(widget, lambda f: f["type"] == "message" and f["author"] == "operator",
                               "the operator's reply on A's widget")
            assert said["text"] == "Chào anh/chị, em là Lan."

            await widget.send(json.dumps({"type": "message", "text": "Tôi cần làm lại hộ chiếu", "client_id": "c2"}))
            live = await until(console, lambda f: f["type"] == "message" and f["author"] == "citizen"
                               and f["text"] == "Tôi cần làm lại hộ chiếu", "the citizen's message on B's console")
            assert live["conversation_id"] == item["conversation_id"]
            # While the operator holds it the bot stays silent on A.
            with pytest.raises(AssertionError, match="never came"):
                await until(widget, lambda f: f["type"] == "message" and f["author"] == "bot", "a bot reply", 3)

    with session_factory()() as session:
        authors = session.scalars(select(Message.author).join(Conversation).where(Conversation.sender_id == conversation)
                                  .order_by(Message.id)).all()
    assert authors == ["citizen", "bot", "system", "operator", "citizen"]


TURNS = [("Làm hộ chiếu cần những giấy tờ gì?", "đăng ký khai sinh mất bao lâu"),
         ("lệ phí đăng ký kết hôn bao nhiêu", "xin chào"),
         ("cap lai giay phep lai xe het han bao nhieu tien", "nộp hồ sơ khai tử ở đâu"),
         ("cảm ơn", "Số điện thoại đường dây nóng của trung tâm là gì?")]


def test_one_conversations_messages_sent_to_both_instances_at_once_are_handled_in_turn(instances):
    a, b = instances
    sender = f"{RUN}{secrets.token_hex(8)}"
    answers = asyncio.run(_concurrent_pairs(a, b, sender))
    apology = get_settings().hotline
    for text, replies in answers.items():
        assert replies, f"no answer to {text!r}"
        assert not any(apology in (reply.get("text") or "") and "gián đoạn" in reply["text"] for reply in replies), text

    # Rasa's tracker (shared in PostgreSQL): each message, then its own answers, before the next message began.
    tracker = httpx.get(f"{a.rasa_url}/conversations/rest:{sender}/tracker", timeout=30).json()
    turns: list[tuple[str, list[str]]] = []
    for event in tracker["events"]:
        if event["event"] == "user":
            turns.append((event["text"], []))
        elif event["event"] == "bot" and turns:
            turns[-1][1].append(event.get("text") or "")
    assert sorted(text for text, _ in turns) == sorted(answers), "every message reached Rasa exactly once"
    for text, said in turns:
        assert said == [reply.get("text") or "" for reply in answers[text]], f"the answers to {text!r} interleaved"

    # Rasa keeps them in the deployment's own schema, so deployments sharing one database stay apart.
    with session_factory()() as session:
        in_schema, in_public = rasa_events(session.connection(), f"rest:{sender}")
    assert in_schema > 0 and in_public == 0, (in_schema, in_public)

    with session_factory()() as session:
        counts = dict(session.execute(
            select(Message.direction, func.count()).join(Conversation)
            .where(Conversation.channel == "rest", Conversation.sender_id == sender).group_by(Message.direction)).all())
    assert counts == {"in": len(answers), "out": sum(len(replies) for replies in answers.values())}


async def _concurrent_pairs(a: harness.Stack, b: harness.Stack, sender: str) -> dict[str, list[dict]]:
    answers: dict[str, list[dict]] = {}
    async with httpx.AsyncClient(timeout=30) as http:
        async def say(stack: harness.Stack, text: str) -> None:
            response = await http.post(f"{stack.gateway_url}{harness.WEBHOOK}", json={"sender": sender, "message": text})
            response.raise_for_status()
            answers[text] = response.json()

        for first, second in TURNS:
            await asyncio.gather(say(a, first), say(b, second))
    return answers


def test_an_faq_entry_published_through_one_instance_is_answered_through_the_other_within_2_s(instances):
    a, b = instances
    question = "Có được mang thú cưng vào khu vực chờ không?"
    answer = "Dạ, khu vực chờ không nhận thú cưng; anh/chị vui lòng gửi thú cưng ở nhà giữ xe của Trung tâm."
    assert all(answer not in (reply.get("text") or "") for reply in b.say(f"{RUN}{secrets.token_hex(6)}", question))
    with httpx.Client(base_url=a.gateway_url, timeout=30) as admin:
        login = admin.post("/api/auth/login", json={"username": "quantri", "password": PASSWORD})
        assert login.status_code == 200, login.text
        csrf = {"X-CSRF-Token": login.json()["csrf_token"]}
        created = admin.post("/api/admin/faq", headers=csrf, json={
            "question": question, "answer": answer, "variants": ["mang chó mèo vào trung tâm được không"]})
        assert created.status_code == 201, created.text
        published = admin.post(f"/api/admin/faq/{created.json()['id']}/publish", headers=csrf, json={})
        assert published.status_code == 200, published.text
    start = time.monotonic()
    while True:  # each time as a new citizen of instance B
        replies = b.say(f"{RUN}{secrets.token_hex(6)}", question)
        if any(answer in (reply.get("text") or "") for reply in replies):
            break
        assert time.monotonic() - start < LIVE_SECONDS + 3, f"B never answered with the published entry: {replies}"
        time.sleep(0.1)
    took = time.monotonic() - start
    assert took <= LIVE_SECONDS, f"published through A, answered through B after {took:.2f} s"


def test_what_postgresql_refuses_in_text_is_kept_as_a_replacement_mark(instances):
    """NUL, which PostgreSQL refuses in text (SQLite takes it), costs neither the message nor the answer."""
    a, _ = instances
    sender = f"{RUN}{secrets.token_hex(6)}"
    raw = '{"sender": "%s", "message": "l\\u00e0m h\\u1ed9 chi\\u1ebfu c\\u1ea7n g\\u00ec\\u0000 \\ud800"}' % sender
    answered = httpx.post(f"{a.gateway_url}{harness.WEBHOOK}", content=raw, headers={"content-type": "application/json"},
                          timeout=30)
    assert answered.status_code == 200 and answered.json(), answered.text
    with session_factory()() as session:
        stored = session.scalars(select(Message.text).join(Conversation).where(
            Conversation.channel == "rest", Conversation.sender_id == sender, Message.direction == "in")).all()
    assert stored == ["làm hộ chiếu cần gì\ufffd \ufffd"]
    odd = httpx.post(f"{a.gateway_url}{harness.WEBHOOK}", content='{"sender": "x\\u0000", "message": "chào"}',
                     headers={"content-type": "application/json"}, timeout=30)
    assert odd.status_code == 400 and "sender" in odd.json()["error"], odd.text
