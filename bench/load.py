"""Load benchmark: simulated citizens over REST and the widget's WebSocket, concurrency ramped until p95 > 300 ms.

Five targets in one run, all on loopback: Rasa's own REST webhook (the reference, same model), the embedded
default (one `hcc run` on SQLite), and PostgreSQL + Redis with one and with two `hcc run` instances (one
instance in that mode shows what the second adds, apart from what the shared storage costs). Two instances
share the citizens twice over: each citizen kept on one instance, as a proxy hashing the client's address
keeps it, and each REST message and widget connection sent to the next instance, so one conversation
alternates. All targets are started at once and ramped together, one step of each in turn at every
concurrency (see ramp_together); the stacks not being measured idle meanwhile. Each citizen plays
bench/conversation.py's short conversations back to back, every message waiting for its answer (no think
time, so the offered load is the concurrency). Afterwards every message sent is checked in
the database: stored once, in order, and each answer stored once.

Each step also prints the CPU milliseconds per turn of every process of the stack (gateway, Rasa, action
server, from /proc), the load generator's own, and the whole machine's (PostgreSQL, Redis and the kernel
included) with the share of the cores left idle: unlike messages per second, CPU per turn hardly moves when
other work shares the cores.

    .venv/bin/python bench/load.py [--step-seconds 8] [--max-concurrency 64] [--only sqlite|postgres]
                                   [--instances 1 2] [--routing citizen message]
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import secrets
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import aiohttp
import uvloop
import websockets
from sqlalchemy import select

from conversation import build_database, conversations as conversations_read, is_apology, percentile
from shared_storage import BENCH_POSTGRES_URL, BENCH_REDIS_URL, throwaway
from stack import WEBHOOK, hcc, running, stack_env

from knowledge_base.db import session_factory
from knowledge_base.models import Conversation, Message
from nlu.training import latest_model

TARGET_P95_MS = 300.0
REQUEST_TIMEOUT = 10.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
CLIENT = "bench client"  # this process: the load generator shares the cores with the stack
ROUTINGS = {"citizen": "each citizen on one", "message": "messages alternate"}


@dataclass
class Sent:
    """What the clients saw of one sender: its messages in order and how many replies each got."""
    channel: str
    messages: list[str] = field(default_factory=list)
    replies: list[int] = field(default_factory=list)


@dataclass
class Step:
    concurrency: int
    latencies: list[float] = field(default_factory=list)  # ms, answered turns only
    errors: int = 0
    elapsed: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)  # process → CPU ms per turn
    machine: float = 0.0  # CPU ms per turn of the whole machine: the stack, PostgreSQL, Redis, the kernel, all
    idle: float = 0.0  # share of the machine's CPU time left idle

    @property
    def turns(self) -> int:
        return len(self.latencies) + self.errors

    @property
    def rate(self) -> float:
        return self.turns / self.elapsed if self.elapsed else 0.0

    def cpu_text(self) -> str:
        """CPU ms per turn of each process of the stack, their sum, the load generator's own and the machine's."""
        stack = {name: ms for name, ms in self.cpu.items() if name != CLIENT}
        return (" ".join(f"{name} {ms:.1f}" for name, ms in stack.items())
                + f" (stack {sum(stack.values()):.1f}; {CLIENT} {self.cpu.get(CLIENT, 0.0):.1f}; "
                  f"machine {self.machine:.1f}, idle {self.idle:.0%})")

    def p(self, q: int) -> float:
        return percentile(self.latencies, q) if self.latencies else float("nan")


@dataclass
class Target:
    """Where citizens write: gateway URLs or Rasa's own webhook; which channels they use; how several URLs share
    the citizens: "citizen" keeps each citizen on one instance, as a proxy hashing the client's address does,
    "message" sends each REST message and each widget connection to the next instance."""
    name: str
    urls: list[str]
    channels: tuple[str, ...] = ("rest", "widget")
    routing: str = "citizen"
    run_id: str = field(default_factory=lambda: secrets.token_hex(4))
    sent: dict[str, Sent] = field(default_factory=dict)
    processes: dict[str, int] = field(default_factory=dict)  # name → pid, for CPU per turn
    _next: itertools.cycle = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        self._next = itertools.cycle(self.urls)

    def url(self, citizen: int) -> str:
        return self.urls[citizen % len(self.urls)] if self.routing == "citizen" else next(self._next)


def stack_processes(gateway_url: str, label: str = "") -> dict[str, int]:
    """The pids of the `hcc run` serving ``gateway_url`` and of its Rasa and action server (they share its HCC_PORT)."""
    port = f"HCC_PORT={gateway_url.rsplit(':', 1)[1]}".encode()
    found = {}
    for entry in Path("/proc").iterdir():
        try:
            if not entry.name.isdigit() or port not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:  # gone meanwhile, or not ours to read
            continue
        name = ("rasa" if b"bot.rasa_server" in command else "actions" if b"rasa_sdk" in command
                else "gateway" if b"run" in command and any(arg.endswith(b"hcc") for arg in command) else None)
        if name:
            found[f"{name}{label}"] = int(entry.name)
    return dict(sorted(found.items()))


def machine_ticks() -> tuple[int, int]:
    """Busy and idle clock ticks of all CPUs since boot (/proc/stat; waiting for I/O counts as idle)."""
    values = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = values[3] + values[4]
    return sum(values) - idle, idle


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of ``pid`` so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


@lru_cache(maxsize=1)
def conversations() -> list[list[str]]:
    """bench/conversation.py's conversations, read once: they parse the demo dossiers' YAML, which had cost
    the load generator 8 ms of CPU per turn, taken from the stack it measures."""
    return conversations_read()


def _answered(replies: list[dict]) -> bool:
    return bool(replies) and not is_apology(replies)


async def _rest_citizen(target: Target, http: aiohttp.ClientSession, step: Step, number: int, stop: float) -> None:
    for round_ in itertools.count():
        for conversation in conversations():
            sender = f"load-{target.run_id}-r{step.concurrency}-{number}-{round_}-{len(target.sent)}"
            record = target.sent.setdefault(sender, Sent("rest"))
            for message in conversation:
                if time.monotonic() >= stop:
                    return
                started = time.perf_counter()
                try:
                    async with http.post(f"{target.url(number)}{WEBHOOK}", json={"sender": sender, "message": message}) as response:
                        replies = await response.json(content_type=None) if response.status == 200 else []
                except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
                    replies = []
                elapsed = (time.perf_counter() - started) * 1000
                record.messages.append(message)
                record.replies.append(len(replies))
                if _answered(replies):
                    step.latencies.append(elapsed)
                else:
                    step.errors += 1


async def _widget_turn(socket, message: str, client_id: str) -> list[dict]:
    """Send one message; the bot's messages until the turn's closing typing-off frame."""
    await socket.send(json.dumps({"type": "message", "text": message, "client_id": client_id}))
    replies, refused = [], False
    while True:
        frame = json.loads(await asyncio.wait_for(socket.recv(), timeout=REQUEST_TIMEOUT))
        if frame["type"] == "message" and frame["author"] in ("bot", "system"):
            replies.append(frame)
        elif frame["type"] == "error":
            refused = True
        elif frame["type"] == "typing" and not frame["on"]:
            return [] if refused else replies


async def _widget_citizen(target: Target, step: Step, number: int, stop: float) -> None:
    for round_ in itertools.count():
        for conversation in conversations():
            if time.monotonic() >= stop:
                return
            sender = f"load-{target.run_id}-w{step.concurrency}-{number}-{round_}-{len(target.sent)}"
            record = target.sent.setdefault(sender, Sent("widget"))
            ws = target.url(number).replace("http://", "ws://") + "/ws/widget"
            try:
                async with websockets.connect(ws, max_size=2 ** 20) as socket:
                    await socket.send(json.dumps({"type": "hello", "conversation": sender, "after": 0}))
                    while json.loads(await asyncio.wait_for(socket.recv(), timeout=REQUEST_TIMEOUT))["type"] != "ready":
                        pass
                    for index, message in enumerate(conversation):
                        if time.monotonic() >= stop:
                            return
                        started = time.perf_counter()
                        record.messages.append(message)
                        replies = await _widget_turn(socket, message, f"m{index}")
                        record.replies.append(len(replies))
                        if _answered(replies):
                            step.latencies.append((time.perf_counter() - started) * 1000)
                        else:
                            step.errors += 1
            except (OSError, asyncio.TimeoutError, websockets.WebSocketException):
                step.errors += 1
                if len(record.replies) < len(record.messages):
                    record.replies.append(0)


async def _step(target: Target, concurrency: int, seconds: float) -> Step:
    step = Step(concurrency)
    processes = {**target.processes, CLIENT: os.getpid()}
    # aiohttp (and uvloop, see main): the load generator shares the cores with the stack, so it should take
    # little of them; httpx cost it 2–3 ms of CPU per request, aiohttp under 0.5 ms.
    connector = aiohttp.TCPConnector(limit=concurrency + 8)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT), connector=connector) as http:
        cpu = {name: cpu_seconds(pid) for name, pid in processes.items()}
        busy, idle = machine_ticks()
        started = time.monotonic()
        stop = started + seconds
        citizens = []
        for number in range(concurrency):
            channel = target.channels[number % len(target.channels)]
            citizens.append(_rest_citizen(target, http, step, number, stop) if channel == "rest"
                            else _widget_citizen(target, step, number, stop))
        await asyncio.gather(*citizens)
        step.elapsed = time.monotonic() - started
        step.cpu = {name: (cpu_seconds(pid) - cpu[name]) * 1000 / max(step.turns, 1) for name, pid in processes.items()}
        busy, idle = (now - before for now, before in zip(machine_ticks(), (busy, idle)))
        step.machine = busy / CLOCK_TICKS * 1000 / max(step.turns, 1)
        step.idle = idle / max(busy + idle, 1)
    return step


async def _warm(target: Target) -> None:
    """Every conversation once on every instance, not measured: first turns build the actions' search indexes
    and caches."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
        for url in target.urls:
            for number, conversation in enumerate(conversations()):
                sender = f"warm-{target.run_id}-{url.rsplit(':', 1)[1]}-{number}"
                for message in conversation:
                    async with http.post(f"{url}{WEBHOOK}", json={"sender": sender, "message": message}) as response:
                        await response.read()


async def ramp_together(targets: list[Target], seconds: float, max_concurrency: int) -> dict[str, list[Step]]:
    """Each target's ramp, concurrency 1, 2, 4, … until its p95 passes the target twice in a row (or errors
    appear), or the cap; one step of every target in turn at each concurrency, in alternating order. The
    machine's speed drifts by up to a half over minutes, so targets ramped one after the other were compared
    across different machines; interleaved, each comparison is of steps a minute apart."""
    for target in targets:
        await _warm(target)
    steps: dict[str, list[Step]] = {target.name: [] for target in targets}
    over = dict.fromkeys(steps, 0)
    width = max(len(target.name) for target in targets)
    concurrency = 1
    while concurrency <= max_concurrency and min(over.values()) < 2:
        for target in targets if concurrency.bit_length() % 2 else targets[::-1]:
            if over[target.name] >= 2:
                continue
            step = await _step(target, concurrency, seconds)
            steps[target.name].append(step)
            print(f"  {target.name:{width}} c={concurrency:<3} {step.rate:7.1f} msg/s  p50 {step.p(50):6.1f}  "
                  f"p95 {step.p(95):6.1f}  p99 {step.p(99):6.1f} ms  errors {step.errors}  load {os.getloadavg()[0]:.2f}  "
                  f"CPU ms/turn {step.cpu_text()}", flush=True)
            over[target.name] = over[target.name] + 1 if step.p(95) > TARGET_P95_MS or step.errors else 0
        concurrency *= 2
    return steps


def sustained(steps: list[Step]) -> Step | None:
    """The step with the most messages per second at p95 ≤ 300 ms and no errors."""
    good = [step for step in steps if step.p(95) <= TARGET_P95_MS and not step.errors]
    return max(good, key=lambda step: step.rate) if good else None


def verify(target: Target, database_url: str) -> dict[str, int]:
    """Compare what the clients sent and got with what is stored: missing, duplicated, reordered, unanswered."""
    problems = {"senders": len(target.sent), "sent": 0, "stored in": 0, "stored out": 0, "unanswered": 0,
                "missing or extra in": 0, "reply count mismatch": 0}
    prefix = f"load-{target.run_id}-"
    with session_factory(database_url)() as session:
        rows = session.execute(select(Conversation.sender_id, Message.direction, Message.text)
                               .join(Message, Message.conversation_id == Conversation.id)
                               .where(Conversation.sender_id.like(f"{prefix}%")).order_by(Message.id)).all()
    stored: dict[str, list[tuple[str, str]]] = {}
    for sender, direction, body in rows:
        stored.setdefault(sender, []).append((direction, body))
    for sender, record in target.sent.items():
        turns = stored.get(sender, [])
        inbound = [body for direction, body in turns if direction == "in"]
        problems["sent"] += len(record.messages)
        problems["stored in"] += len(inbound)
        problems["stored out"] += len(turns) - len(inbound)
        problems["unanswered"] += sum(1 for count in record.replies if count == 0)
        if inbound != record.messages:
            problems["missing or extra in"] += 1
            _show(sender, record, turns)
        # Each message's answers, stored once, between it and the next message.
        counts: list[int] = []
        for direction, _ in turns:
            if direction == "in":
                counts.append(0)
            elif counts:
                counts[-1] += 1
        if counts != record.replies:
            problems["reply count mismatch"] += 1
            _show(sender, record, turns)
    return problems


def _show(sender: str, record: Sent, turns: list[tuple[str, str]]) -> None:
    print(f"  ! {record.channel} {sender}: sent {list(zip(record.messages, record.replies))}; "
          f"stored {[(direction, body[:40]) for direction, body in turns]}", flush=True)


def report(results: dict[str, tuple[list[Step], dict | None]]) -> None:
    load1, load5, _ = os.getloadavg()
    print(f"\nload average now {load1:.2f} (5 min {load5:.2f}) on {os.cpu_count()} CPUs; target p95 ≤ {TARGET_P95_MS:.0f} ms")
    print(f"| target | sustained msg/s at p95 ≤ {TARGET_P95_MS:.0f} ms | concurrency | p50 ms | p95 ms | p99 ms | errors | "
          f"peak msg/s (any p95) | stored and answered exactly once | CPU ms per turn at the peak |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, (steps, checked) in results.items():
        best, peak = sustained(steps), max(steps, key=lambda step: step.rate)
        errors = sum(step.errors for step in steps)
        if checked is None:
            exactly = "(Rasa keeps no messages)"
        else:
            wrong = checked["missing or extra in"] + checked["reply count mismatch"]
            exactly = (f"{'yes' if not wrong and checked['sent'] == checked['stored in'] else 'NO'}: "
                       f"{checked['sent']} sent, {checked['stored in']} stored in, {checked['stored out']} out, "
                       f"{wrong} senders wrong of {checked['senders']}")
        cpu = peak.cpu_text()
        if best is None:
            print(f"| {name} | none | | | | | {errors} | {peak.rate:.1f} | {exactly} | {cpu} |")
        else:
            print(f"| {name} | {best.rate:.1f} | {best.concurrency} | {best.p(50):.1f} | {best.p(95):.1f} | "
                  f"{best.p(99):.1f} | {errors} | {peak.rate:.1f} | {exactly} | {cpu} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--step-seconds", type=float, default=8.0, help="length of each concurrency step")
    parser.add_argument("--max-concurrency", type=int, default=64)
    parser.add_argument("--only", choices=("sqlite", "postgres"), help="only Rasa alone and the embedded default, "
                        "or only the instances on PostgreSQL + Redis")
    parser.add_argument("--instances", type=int, nargs="+", default=[1, 2],
                        help="how many instances share PostgreSQL + Redis, each count a target (default: 1 and 2)")
    parser.add_argument("--routing", choices=("citizen", "message"), nargs="+", default=["citizen", "message"],
                        help="how several instances share the citizens, each a target (default: both); "
                             "citizen: each citizen stays on one instance; message: each message to the next")
    args = parser.parse_args()
    uvloop.install()  # less CPU for the load generator itself (see _step)
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the start (other work on this machine "
          f"makes the figures noisy)", flush=True)
    with tempfile.TemporaryDirectory(prefix="hcc-load-") as tmp, ExitStack() as stacks:
        workdir = Path(tmp)
        env = stack_env(workdir)
        hcc(env, "train")
        model = latest_model()
        targets: list[tuple[Target, str | None]] = []  # with the database its messages are checked in
        if args.only != "postgres":
            started = time.perf_counter()
            build_database(env)
            print(f"SQLite database built in {time.perf_counter() - started:.1f} s", flush=True)
            stack = stacks.enter_context(running(env, model, workdir / "sqlite", timeout=300))
            processes = stack_processes(stack.gateway_url)
            targets.append((Target("Rasa alone (its REST webhook)", [stack.rasa_url], channels=("rest",),
                                   processes=processes), None))
            targets.append((Target("embedded: 1 instance, SQLite", [stack.gateway_url], processes=processes),
                            env["HCC_DATABASE_URL"]))
        if args.only != "sqlite":
            targets += _shared_storage(stacks, workdir, model, args)
        steps = asyncio.run(ramp_together([target for target, _ in targets], args.step_seconds, args.max_concurrency))
        # Rasa alone keeps no messages to check (url None).
        results = {target.name: (steps[target.name], verify(target, url) if url else None) for target, url in targets}
    report(results)


def _shared_storage(stacks: ExitStack, workdir: Path, model: Path, args) -> list[tuple[Target, str]]:
    """Instances on one PostgreSQL schema and Redis, all started at once: one instance is the first of them alone
    (what shared storage costs), two are the first two (what a second instance adds)."""
    database_url, prefix = stacks.enter_context(throwaway(BENCH_POSTGRES_URL, BENCH_REDIS_URL))
    env = {**stack_env(workdir), "HCC_DATABASE_URL": database_url, "HCC_REDIS_URL": BENCH_REDIS_URL,
           "HCC_REDIS_PREFIX": prefix, "HCC_PHONE_SALT": "load-bench-salt"}
    started = time.perf_counter()
    build_database(env)
    print(f"PostgreSQL schema built in {time.perf_counter() - started:.1f} s", flush=True)
    names = [chr(ord("a") + n) for n in range(max(args.instances))]
    instances = [stacks.enter_context(running({**env, "HCC_VAR_DIR": str(workdir / name)}, model, workdir / name,
                                              timeout=300)) for name in names]
    targets = []
    for count in args.instances:
        processes = {name: pid for stack, label in zip(instances, names[:count])
                     for name, pid in stack_processes(stack.gateway_url, f" {label}" if count > 1 else "").items()}
        for routing in args.routing if count > 1 else ["citizen"]:
            name = f"PostgreSQL + Redis: {count} instance" + (f"s, {ROUTINGS[routing]}" if count > 1 else "")
            targets.append((Target(name, [stack.gateway_url for stack in instances[:count]], routing=routing,
                                   processes=processes), database_url))
    return targets


if __name__ == "__main__":
    main()
