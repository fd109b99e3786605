"""Faults, in turn: the action server or the Rasa server killed mid-conversation, the gateway restarted while an
operator holds a conversation, the SQLite database out of space.

Each time the citizen gets a clear Vietnamese answer with the hotline, nothing accepted is lost, and the service
comes back by itself. The process faults act on the shared ``stack`` (its supervisor restarts what is killed)."""
from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import sqlite3
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import websockets
from sqlalchemy import event, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from starlette.testclient import TestClient

import stack as harness
from bot import processes
from bot.app import create_app
from knowledge_base import conversations
from knowledge_base.db import session_factory, transaction
from knowledge_base.models import Conversation, Handoff, Message, StaffUser
from knowledge_base.staff import add_staff
from staff_helpers import PASSWORD
from test_gateway import fake_rasa, rasa  # noqa: F401 - fixtures: a fake Rasa the in-process gateway talks to
from test_instances import sign_in, until, ws_url
from test_processes import SLEEPER

HOTLINE = "1900 558 826"
PASSPORT = "1.001456"
READY_AGAIN = {"actions": 30.0, "rasa": 120.0}  # seconds a restarted child may take (Rasa loads its model)


# --- processes ---------------------------------------------------------------------------------------------------

def serving(port: int) -> int | None:
    """The pid of the live process started with ``--port PORT`` (a child of `hcc run`), or None."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:  # gone meanwhile
            continue
        if any(args[i] == "--port" and args[i + 1] == str(port) for i in range(len(args) - 1)):
            return int(entry.name)  # a zombie has an empty command line, so this one runs
    return None


def kill(port: int) -> int:
    """SIGKILL the child serving ``port``; its pid, once it is gone."""
    pid = serving(port)
    assert pid is not None, f"no process serves port {port}"
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while serving(port) == pid:
        assert time.monotonic() < deadline, f"pid {pid} outlived SIGKILL"
        time.sleep(0.05)
    return pid


def ready_within(stack: harness.Stack, seconds: float) -> float:
    """Seconds until the gateway's /ready says all three answer again; fails past ``seconds``."""
    started = time.monotonic()
    while True:
        try:
            if stack.client.get(f"{stack.gateway_url}/ready", timeout=2).status_code == 200:
                return time.monotonic() - started
        except Exception:  # noqa: BLE001 - the gateway itself may be between lives
            pass
        assert time.monotonic() - started < seconds, f"not ready again within {seconds:.0f} s"
        time.sleep(0.25)


def port_of(url: str) -> int:
    return urlsplit(url).port


def texts(replies: list[dict]) -> str:
    return "\n".join(reply.get("text") or "" for reply in replies)


def is_apology(replies: list[dict]) -> bool:
    return len(replies) == 1 and HOTLINE in replies[0]["text"] and "gián đoạn" in replies[0]["text"]


def history(database_url: str, channel: str, sender: str) -> list[tuple[str, str, str]]:
    """The conversation's messages as (direction, author, text), oldest first."""
    with session_factory(database_url)() as session:
        return [tuple(row) for row in session.execute(
            select(Message.direction, Message.author, Message.text).join(Conversation)
            .where(Conversation.channel == channel, Conversation.sender_id == sender).order_by(Message.id))]


@pytest.mark.slow
@pytest.mark.timeout(180)
@pytest.mark.parametrize("component", ["actions", "rasa"])
def test_a_killed_child_gets_the_apology_keeps_the_message_and_comes_back_by_itself(stack, component):
    sender = f"fault-{component}-{secrets.token_hex(4)}"
    first = stack.say(sender, "Làm hộ chiếu cần gì?")
    assert PASSPORT in texts(first), first

    port = port_of(stack.action_url if component == "actions" else stack.rasa_url)
    old = kill(port)
    during = stack.say(sender, "lệ phí làm hộ chiếu bao nhiêu")
    assert is_apology(during), during
    assert "đã được ghi nhận" in during[0]["text"]

    waited = ready_within(stack, READY_AGAIN[component])
    assert serving(port) not in (None, old), "the supervisor did not start a new process"
    after = stack.say(sender, "lệ phí làm hộ chiếu bao nhiêu")  # the first turn after the return already works
    assert PASSPORT in texts(after) and not is_apology(after), (waited, after)

    rows = history(stack.database_url, "rest", sender)
    inbound = [row[2] for row in rows if row[0] == "in"]
    assert inbound == ["Làm hộ chiếu cần gì?", "lệ phí làm hộ chiếu bao nhiêu", "lệ phí làm hộ chiếu bao nhiêu"]
    # Each message once, each followed by exactly the replies the citizen saw: the apology from "system".
    said = [(row[1], row[2]) for row in rows if row[0] == "out"]
    assert said == ([("bot", reply.get("text") or "") for reply in first] + [("system", during[0]["text"])]
                    + [("bot", reply.get("text") or "") for reply in after])


def test_a_child_that_had_been_running_a_while_is_restarted_after_the_shortest_pause_again(monkeypatch):
    """Earlier crashes (long ago) must not make today's restart wait the longest pause."""
    monkeypatch.setattr(processes, "STABLE_AFTER", 0.5)
    supervisor = processes.Supervisor([processes.Child("actions", SLEEPER, restarts=5)])  # a 30 s pause if counted
    supervisor.start()
    try:
        time.sleep(0.6)
        child, first = supervisor.children[0], supervisor.children[0].process
        first.kill()
        first.wait()
        died = time.monotonic()
        while child.process is first:
            assert time.monotonic() - died < 5, "the restart waited the long pause of the old crashes"
            time.sleep(0.05)
        assert child.restarts == 1
    finally:
        supervisor.stop()


# --- the gateway restarted during a handoff -------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["restart", "crash"])
def test_the_operator_and_the_citizen_continue_across_a_gateway_restart(stack, tmp_path, stop):
    """A gateway (`hcc run --gateway-only` in front of the shared Rasa and database) goes away mid-handoff, then is back."""
    username = f"truc-{secrets.token_hex(3)}"
    with transaction(stack.database_url) as session:
        add_staff(session, username, "operator", PASSWORD, "Trần Thị Trực")
    conversation = f"fault-handoff-{secrets.token_hex(8)}"
    asyncio.run(_handoff_across_restart(stack, tmp_path, harness.free_port(), username, conversation, stop))

    with session_factory(stack.database_url)() as session:
        handoff = session.scalars(select(Handoff).join(Conversation).where(Conversation.sender_id == conversation)).one()
        assert handoff.status == "active" and session.get(StaffUser, handoff.operator_id).username == username
    authors = [author for _, author, _ in history(stack.database_url, "widget", conversation)]
    assert authors == ["citizen", "bot", "system", "operator", "operator", "citizen"]


async def closed(socket, seconds: float = 10) -> None:
    """Read what was still on its way until the server's end closes ``socket``; fails past ``seconds``."""
    async def drain() -> None:
        while True:
            await socket.recv()

    with pytest.raises(websockets.ConnectionClosed):
        await asyncio.wait_for(drain(), timeout=seconds)


async def _handoff_across_restart(behind: harness.Stack, workdir: Path, port: int, username: str,
                                  conversation: str, stop: signal.Signals) -> None:
    tick = {"HCC_CONSOLE_TICK_SECONDS": "0.2"}
    async with httpx.AsyncClient(timeout=30) as http:
        with harness.gateway_only(behind, workdir, port, tick) as (gateway, process):
            cookie, csrf = await sign_in(http, gateway.gateway_url, username)
            console_headers = {"Origin": gateway.gateway_url, "Cookie": f"hcc_staff={cookie}"}
            async with websockets.connect(ws_url(gateway, "/ws/widget")) as widget, \
                    websockets.connect(ws_url(gateway, "/ws/console"), extra_headers=console_headers) as console:
                await until(console, lambda f: f["type"] == "hello", "the console's hello")
                await widget.send(json.dumps({"type": "hello", "conversation": conversation, "after": 0}))
                await until(widget, lambda f: f["type"] == "ready", "the widget's ready")
                await widget.send(json.dumps({"type": "message", "text": "cho tôi gặp tổng đài viên", "client_id": "c1"}))
                queued = await until(widget, lambda f: f["type"] == "message" and f["author"] == "bot", "the bot's answer")
                assert "vị trí số" in queued["text"]

                with session_factory(behind.database_url)() as session:
                    handoff_id, conversation_id = session.execute(
                        select(Handoff.id, Handoff.conversation_id).join(Conversation)
                        .where(Conversation.sender_id == conversation)).one()
                took = await http.post(f"{gateway.gateway_url}/api/console/handoffs/{handoff_id}/take",
                                       headers={"x-csrf-token": csrf, "Origin": gateway.gateway_url})
                assert took.status_code == 200, took.text
                await until(widget, lambda f: f["type"] == "message" and f["author"] == "system", "the operator's arrival")
                await console.send(json.dumps({"type": "open", "conversation_id": conversation_id, "after": 0}))
                await console.send(json.dumps({"type": "reply", "text": "Chào anh/chị, em là Trực.", "client_id": "r1"}))
                await until(console, lambda f: f["type"] == "sent", "the first reply's receipt")
                said = await until(widget, lambda f: f["type"] == "message" and f["author"] == "operator", "the first reply")
                seen = said["id"]

                process.send_signal(stop)
                stopping = time.monotonic()
                process.wait(timeout=30)
                assert time.monotonic() - stopping < 10, "the gateway took too long to stop"
                for socket in (widget, console):
                    await closed(socket)

        with harness.gateway_only(behind, workdir, port, tick) as (gateway, _):
            # The same session cookie: the operator does not sign in again, and still holds the conversation.
            async with websockets.connect(ws_url(gateway, "/ws/widget")) as widget, \
                    websockets.connect(ws_url(gateway, "/ws/console"), extra_headers=console_headers) as console:
                queue = await until(console, lambda f: f["type"] == "queue", "the queue after the restart")
                [mine] = [item for item in queue["items"] if item["handoff_id"] == handoff_id]
                assert mine["status"] == "active"
                await widget.send(json.dumps({"type": "hello", "conversation": conversation, "after": seen}))
                ready = await until(widget, lambda f: f["type"] in ("ready", "message"), "the widget's ready again")
                assert ready["type"] == "ready" and ready["last_id"] == seen, ready  # nothing missed, nothing twice
                await console.send(json.dumps({"type": "open", "conversation_id": conversation_id, "after": seen}))
                again = "Em vẫn ở đây, anh/chị cần gì ạ?"
                await console.send(json.dumps({"type": "reply", "text": again, "client_id": "r2"}))
                await until(console, lambda f: f["type"] == "sent", "the second reply's receipt")
                said = await until(widget, lambda f: f["type"] == "message", "the second reply")
                assert (said["author"], said["text"]) == ("operator", again)

                await widget.send(json.dumps({"type": "message", "text": "Tôi cần làm lại hộ chiếu", "client_id": "c2"}))
                live = await until(console, lambda f: f["type"] == "message" and f["author"] == "citizen",
                                   "the citizen's message on the console")
                assert live["text"] == "Tôi cần làm lại hộ chiếu" and live["conversation_id"] == conversation_id
                with pytest.raises(AssertionError, match="never came"):  # the bot stays silent while she holds it
                    await until(widget, lambda f: f["type"] == "message" and f["author"] != "citizen", "a reply", 3)


# --- SQLite out of space ---------------------------------------------------------------------------------------------

UNLIMITED = 1073741823  # SQLite's own ceiling for max_page_count
FILLER = "filler-of-the-disk"
# A long complaint (~2,100 bytes): more than a page already holding a 3,000-byte row has left, so it needs a page.
COMPLAINT = ("Tôi đã nộp hồ sơ đăng ký khai sinh cho con từ tuần trước nhưng đến nay vẫn chưa nhận được kết quả, "
             "đề nghị Trung tâm kiểm tra giúp. ") * 12


class DiskLimit:
    """The database may not grow past ``pages`` pages: SQLite's own max_page_count on every connection handed out,
    so a write that needs one more page fails with a real SQLITE_FULL ("database or disk is full")."""

    def __init__(self, engine: Engine) -> None:
        self.engine, self.pages = engine, UNLIMITED
        event.listen(engine, "checkout", self._apply)

    def _apply(self, dbapi_connection, _record, _proxy) -> None:
        dbapi_connection.execute(f"PRAGMA max_page_count = {self.pages}")

    def fill(self) -> None:
        """No page left: the size is frozen, then filler rows (one per page) take every free page."""
        with self.engine.connect() as connection:
            self.pages = connection.execute(text("PRAGMA page_count")).scalar()
        for _ in range(10_000):
            try:
                with transaction() as session:
                    filler = conversations.get_or_create(session, "rest", FILLER)
                    conversations.record_message(session, filler, "out", "system", "x" * 3000)
            except OperationalError as error:
                assert "full" in str(error.orig), error
                return
        raise AssertionError("the database never filled up")

    def free(self) -> None:
        self.pages = UNLIMITED

    def close(self) -> None:
        event.remove(self.engine, "checkout", self._apply)
        self.engine.dispose()  # the pooled connections keep their limit otherwise


def integrity(database_url: str) -> str:
    with sqlite3.connect(database_url.removeprefix("sqlite:///")) as connection:
        return connection.execute("PRAGMA integrity_check").fetchone()[0]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_full_sqlite_disk_gets_a_clear_answer_corrupts_nothing_and_passes(rasa, hcc_env):  # noqa: F811
    disk = DiskLimit(session_factory().kw["bind"])
    try:
        with TestClient(create_app()) as gateway:
            assert gateway.post(harness.WEBHOOK, json={"sender": "dan-1", "message": "xin chào"}).status_code == 200
            disk.fill()

            for sender in ("dan-1", "dan-2"):  # a known citizen and a new one
                refused = gateway.post(harness.WEBHOOK, json={"sender": sender, "message": COMPLAINT})
                assert refused.status_code == 503, refused.text
                assert HOTLINE in refused.json()["error"] and "chưa nhận được tin nhắn" in refused.json()["error"]
            with gateway.websocket_connect("/ws/widget") as widget:
                widget.send_json({"type": "hello", "conversation": "dan-3-widget-0001", "after": 0})
                assert widget.receive_json()["type"] == "ready"
                widget.send_json({"type": "message", "text": COMPLAINT, "client_id": "c1"})
                frames = [widget.receive_json() for _ in range(3)]
            assert [frame["type"] for frame in frames] == ["typing", "error", "typing"]
            assert frames[1]["client_id"] == "c1" and HOTLINE in frames[1]["text"]
            assert integrity(hcc_env) == "ok"
            with session_factory()() as session:  # nothing half-written: no conversation without its message
                senders = set(session.scalars(select(Conversation.sender_id)))
            assert senders == {"dan-1", FILLER}

            disk.free()
            again = gateway.post(harness.WEBHOOK, json={"sender": "dan-1", "message": COMPLAINT})
            assert again.status_code == 200 and again.json()[0]["text"] == f"Đã nhận: {COMPLAINT.strip()}"
    finally:
        disk.close()
    assert integrity(hcc_env) == "ok"
    assert [body["message"] for body in rasa.received] == ["xin chào", COMPLAINT.strip()]
    assert history(hcc_env, "rest", "dan-1") == [
        ("in", "citizen", "xin chào"), ("out", "bot", "Đã nhận: xin chào"), ("out", "bot", "Anh/chị hỏi thủ tục nào?"),
        ("in", "citizen", COMPLAINT.strip()), ("out", "bot", f"Đã nhận: {COMPLAINT.strip()}"),
        ("out", "bot", "Anh/chị hỏi thủ tục nào?")]
