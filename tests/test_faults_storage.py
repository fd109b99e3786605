"""PostgreSQL and Redis lost mid-conversation (issue #8), staged with loopback proxies the stack connects through
(tests/tcp_proxy.py): the machine's servers keep running for everyone else.

While one is gone the citizen gets a bounded, Vietnamese answer with the hotline, never a trace; what was
accepted is stored exactly once; once it is back, turns and the console's Redis relay work again by themselves."""
from __future__ import annotations

import asyncio
import json
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Iterator

import httpx
import pytest
import redis
import websockets
from sqlalchemy import select

import stack as harness
from bot.rasa_stores import lock_store
from bot.settings import get_settings
from knowledge_base.db import session_factory
from knowledge_base.models import Conversation, Message
from shared_storage import OPERATOR, required, seeded, throwaway
from tcp_proxy import TcpProxy
from test_instances import sign_in, until, ws_url

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(240)]

RUN = f"fault-{secrets.token_hex(4)}-"  # every sender of this run starts so
BOUND = 10.0  # seconds any one turn may take, outage or not
RECOVERY = 5.0  # seconds after a server returns within which turns (and the console's Redis relay) work again
QUESTIONS = ["Làm hộ chiếu cần những giấy tờ gì?", "lệ phí đăng ký kết hôn bao nhiêu", "nộp hồ sơ khai tử ở đâu",
             "đăng ký khai sinh mất bao lâu"]


@dataclass
class Storage:
    stack: harness.Stack
    postgres: TcpProxy
    redis: TcpProxy
    redis_url: str  # the real server, for what the test itself reads or publishes
    prefix: str


@pytest.fixture(scope="module")
def storage(tmp_path_factory) -> Iterator[Storage]:
    """One stack whose PostgreSQL (gateway, Rasa's tracker store, action server) and Redis go through proxies."""
    postgres, redis_url = required("HCC_TEST_POSTGRES_URL"), required("HCC_TEST_REDIS_URL")
    workdir = tmp_path_factory.mktemp("faults")
    with throwaway(postgres, redis_url) as (database_url, prefix):
        env = {**harness.stack_env(workdir), "HCC_DATABASE_URL": database_url, "HCC_REDIS_URL": redis_url,
               "HCC_REDIS_PREFIX": prefix, "HCC_OFFICE_HOURS": "mon-sun 00:00-23:59", "HCC_HOLIDAYS": "none",
               "HCC_CONSOLE_TICK_SECONDS": "0.2", "HCC_PHONE_SALT": "faults-test-salt",
               # Counted in Redis, so checked on every turn (and must fail open), never reached.
               "HCC_RATE_LIMIT_PER_MINUTE": "1000", "HCC_RATE_LIMIT_PER_IP_PER_MINUTE": "1000"}
        with seeded(env, workdir) as model, TcpProxy.to(database_url, 5432) as pg, TcpProxy.to(redis_url, 6379) as rd:
            proxied = {**env, "HCC_DATABASE_URL": pg.url(database_url), "HCC_REDIS_URL": rd.url(redis_url)}
            with harness.running(proxied, model, workdir) as stack:
                yield Storage(stack, pg, rd, redis_url, prefix)


@pytest.fixture
def storage_back(storage) -> Iterator[Storage]:
    """The module's stack, with both servers reachable again after the test whatever happened in it."""
    yield storage
    storage.postgres.restore()
    storage.redis.restore()


@dataclass
class Turn:
    text: str
    status: int
    body: object
    seconds: float

    @property
    def replies(self) -> list[str]:
        return [reply.get("text") or "" for reply in self.body] if self.status == 200 else []

    @property
    def accepted(self) -> bool:
        """Stored by the gateway: any answer at all (a refusal to store comes as an HTTP error)."""
        return self.status == 200

    @property
    def apology(self) -> bool:
        return any(get_settings().hotline in text and "gián đoạn" in text for text in self.replies)

    @property
    def normal(self) -> bool:
        return self.accepted and bool(self.replies) and not self.apology


def turn(stack: harness.Stack, sender: str, text: str, message_id: str | None = None) -> Turn:
    """One citizen message through the gateway's REST webhook, timed; a turn past BOUND is a failure."""
    body = {"sender": sender, "message": text, **({"message_id": message_id} if message_id else {})}
    started = time.monotonic()
    try:
        response = stack.client.post(f"{stack.gateway_url}{harness.WEBHOOK}", json=body, timeout=BOUND + 5)
    except httpx.TimeoutException:
        pytest.fail(f"{text!r}: no answer within {BOUND + 5:.0f} s")
    seconds = time.monotonic() - started
    assert seconds < BOUND, f"{text!r} took {seconds:.1f} s"
    assert response.headers["content-type"].startswith("application/json"), response.text[:300]
    assert "Traceback" not in response.text
    return Turn(text, response.status_code, response.json(), seconds)


def answered_again(stack: harness.Stack, sender: str, text: str, turns: list[Turn], message_id: str | None = None) -> Turn:
    """Send ``text`` until it is answered normally, within RECOVERY seconds; every try joins ``turns``."""
    deadline = time.monotonic() + RECOVERY
    while True:
        turns.append(turn(stack, sender, text, message_id))
        if turns[-1].normal:
            return turns[-1]
        assert time.monotonic() < deadline, f"no normal answer {RECOVERY:.0f} s after the restore: {turns[-1]}"
        time.sleep(0.2)


def stored_inbound(sender: str) -> list[str]:
    """The citizen's stored messages, oldest first (read directly, not through the proxy)."""
    with session_factory()() as session:
        return list(session.scalars(select(Message.text).join(Conversation).where(
            Conversation.channel == "rest", Conversation.sender_id == sender, Message.direction == "in")
            .order_by(Message.id)))


def tracker_messages(stack: harness.Stack, sender: str) -> list[str]:
    """The user messages in Rasa's tracker (its SQL tracker store) of ``sender``."""
    tracker = stack.client.get(f"{stack.rasa_url}/conversations/rest:{sender}/tracker", timeout=BOUND).json()
    return [event["text"] for event in tracker["events"] if event["event"] == "user"]


def assert_unaccepted(during: Turn) -> None:
    """Not stored, so not accepted: an HTTP error whose Vietnamese message says so and gives the hotline."""
    assert during.status == 503, (during.status, during.body)
    message = during.body["error"]
    assert "chưa nhận được tin nhắn" in message and get_settings().hotline in message, message


def test_postgres_lost_between_turns_refuses_with_the_hotline_and_turns_resume_by_themselves(storage_back):
    stack, sender = storage_back.stack, f"{RUN}{secrets.token_hex(6)}"
    turns = [turn(stack, sender, QUESTIONS[0])]
    assert turns[0].normal, turns[0]

    storage_back.postgres.cut()
    during = turn(stack, sender, QUESTIONS[1])
    assert_unaccepted(during)
    ready = stack.client.get(f"{stack.gateway_url}/ready", timeout=BOUND)
    assert ready.status_code == 503 and ready.json()["database"] is False, ready.text

    storage_back.postgres.restore()
    answered_again(stack, sender, QUESTIONS[2], turns)
    turns.append(turn(stack, sender, QUESTIONS[3]))
    assert turns[-1].normal, turns[-1]

    accepted = [t.text for t in turns if t.accepted]
    assert stored_inbound(sender) == accepted, "each accepted message stored exactly once, the refused one not at all"
    # Rasa's tracker continues the same conversation: no turn after the outage met a dead pooled connection.
    assert tracker_messages(stack, sender) == [t.text for t in turns if t.normal]


def test_postgres_lost_during_a_turn_still_answers_and_keeps_the_message(storage_back):
    stack, sender = storage_back.stack, f"{RUN}{secrets.token_hex(6)}"
    turns = [turn(stack, sender, QUESTIONS[0])]
    assert turns[0].normal, turns[0]

    # A slow server holds the rest of the turn (Rasa's tracker read and save, the answer stored: seven round trips)
    # long after the message is stored, so the cut lands inside the turn however busy the machine.
    lag = storage_back.postgres.lag = 0.1
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(turn, stack, sender, QUESTIONS[1])
        deadline = time.monotonic() + BOUND
        while stored_inbound(sender) != [QUESTIONS[0], QUESTIONS[1]]:  # the gateway stored it, Rasa is at work
            assert time.monotonic() < deadline and not pending.done(), "the message was never stored"
            time.sleep(0.005)
        time.sleep(2 * lag)  # the gateway has its COMMIT's answer: stored and known to be, so accepted
        storage_back.postgres.cut()
        finished_first = pending.done()
        during = pending.result()
    assert not finished_first, "the turn ended before the cut: nothing was tested"
    # Stored before the cut, so accepted: an answer (Rasa's, or the apology with the hotline), never silence.
    assert during.accepted and during.replies, during
    turns.append(during)

    storage_back.postgres.restore()
    answered_again(stack, sender, QUESTIONS[2], turns)
    assert stored_inbound(sender) == [t.text for t in turns if t.accepted]


def test_postgres_lost_before_the_commit_is_acknowledged_a_resend_under_its_message_id_is_answered_once(storage_back):
    stack, sender = storage_back.stack, f"{RUN}{secrets.token_hex(6)}"
    assert turn(stack, sender, QUESTIONS[0], "m-0").normal

    # The server's answers wait in the proxy, so the message is committed well before the gateway hears so.
    storage_back.postgres.lag = 0.3
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(turn, stack, sender, QUESTIONS[1], "m-1")
        deadline = time.monotonic() + BOUND
        while stored_inbound(sender) != [QUESTIONS[0], QUESTIONS[1]]:
            assert time.monotonic() < deadline and not pending.done(), "the message was never stored"
            time.sleep(0.005)
        storage_back.postgres.cut()
        during = pending.result()
    # The gateway cannot know the message is stored, so it says it was not received; the client sends it again.
    assert_unaccepted(during)

    storage_back.postgres.restore()
    turns: list[Turn] = []
    again = answered_again(stack, sender, QUESTIONS[1], turns, "m-1")
    assert stored_inbound(sender) == [QUESTIONS[0], QUESTIONS[1]], "stored once, though sent twice"
    assert tracker_messages(stack, sender) == [QUESTIONS[0], QUESTIONS[1]], "answered once"
    assert turn(stack, sender, QUESTIONS[1], "m-1").replies == again.replies  # and the same answer on any resend


def test_rasa_locks_a_conversation_in_process_while_redis_is_away():
    from rasa.core.lock_store import LockStore
    from rasa.utils.endpoints import EndpointConfig

    redis_url = required("HCC_TEST_REDIS_URL")
    prefix, real = f"{RUN}{secrets.token_hex(4)}:", redis.Redis.from_url(redis_url)
    key = f"{prefix}lock:rest:citizen"
    with TcpProxy.to(redis_url, 6379) as proxy:
        locks = LockStore.create(EndpointConfig.from_dict(lock_store(proxy.url(redis_url), prefix, 0.5)))

        async def two_turns() -> tuple[list[str], bool]:
            """Two turns of one conversation at once: the second waits for the first."""
            order, held = [], []

            async def one(name: str) -> None:
                async with locks.lock("rest:citizen", wait_time_in_seconds=0.05):
                    order.append(f"{name} in")
                    held.append(real.exists(key) == 1)
                    await asyncio.sleep(0.2)
                    order.append(f"{name} out")

            await asyncio.wait_for(asyncio.gather(one("first"), one("second")), BOUND)
            return order, all(held)

        assert asyncio.run(two_turns()) == (["first in", "first out", "second in", "second out"], True)
        proxy.cut()
        assert asyncio.run(two_turns()) == (["first in", "first out", "second in", "second out"], False)
        proxy.restore()
        assert asyncio.run(two_turns())[1], "Redis holds the locks again"
    assert real.exists(key) == 0
    real.close()


def test_redis_lost_turns_are_still_answered_and_the_console_relay_resumes(storage_back):
    asyncio.run(_redis_outage(storage_back))


async def _relayed(console, publisher: redis.Redis, channel: str, seconds: float) -> float:
    """Seconds until an event published in Redis (as by another gateway instance) reached the console."""
    started = time.monotonic()
    while True:
        publisher.publish(channel, json.dumps({"type": "queue"}))
        try:
            await until(console, lambda frame: frame["type"] == "queue", "a queue event relayed from Redis", 0.5)
            return time.monotonic() - started
        except AssertionError:
            if time.monotonic() - started > seconds:
                raise AssertionError(f"no event relayed from Redis within {seconds:.0f} s") from None


async def _redis_outage(storage: Storage) -> None:
    stack, sender = storage.stack, f"{RUN}{secrets.token_hex(6)}"
    channel, publisher = f"{storage.prefix}console", redis.Redis.from_url(storage.redis_url)
    turns = [await asyncio.to_thread(turn, stack, sender, QUESTIONS[0])]
    assert turns[0].normal, turns[0]
    async with httpx.AsyncClient(timeout=BOUND) as http:
        cookie, _ = await sign_in(http, stack.gateway_url, OPERATOR)
        headers = {"Origin": stack.gateway_url, "Cookie": f"hcc_staff={cookie}"}
        async with websockets.connect(ws_url(stack, "/ws/console"), extra_headers=headers) as console:
            await until(console, lambda frame: frame["type"] == "queue", "the console's first queue")
            await _relayed(console, publisher, channel, RECOVERY)

            storage.redis.cut()
            # Rasa's lock store, the rate limits and the relay are gone: turns lock in-process, limits let them through.
            during = await asyncio.to_thread(turn, stack, sender, QUESTIONS[1])
            assert during.normal, during
            turns.append(during)

            storage.redis.restore()
            took = await _relayed(console, publisher, channel, RECOVERY)
            after = await asyncio.to_thread(answered_again, stack, sender, QUESTIONS[2], turns)
    publisher.close()
    assert took < RECOVERY and after.normal
    assert stored_inbound(sender) == [t.text for t in turns if t.accepted]
    assert tracker_messages(stack, sender) == [t.text for t in turns if t.normal]
    # The limits count in Redis again.
    counted = redis.Redis.from_url(storage.redis_url).get(f"{storage.prefix}rate:sender:rest:{sender}")
    assert counted is not None and int(counted) >= 2, counted
