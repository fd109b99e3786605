"""The whole stack as real processes (`hcc run`: action server, Rasa, gateway) on free loopback ports.

Used by the end-to-end tests (the ``stack`` fixture) and by bench/conversation.py.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent
HCC = Path(sys.executable).with_name("hcc")
WEBHOOK = "/webhooks/rest/webhook"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stack_env(workdir: Path) -> dict[str, str]:
    """The environment of a stack whose SQLite database and var/ live in ``workdir``."""
    env = os.environ.copy()
    env.update({"HCC_DATABASE_URL": f"sqlite:///{workdir / 'hcc.db'}", "HCC_VAR_DIR": str(workdir / "var"),
                "RASA_TELEMETRY_ENABLED": "false",
                # Every turn comes from 127.0.0.1: the inbound limits have their own tests.
                "HCC_RATE_LIMIT_PER_MINUTE": "0", "HCC_RATE_LIMIT_PER_IP_PER_MINUTE": "0"})
    return env


def hcc(env: dict[str, str], *args: str, timeout: float = 600) -> str:
    """Run one `hcc` command with ``env``; its output, or an error carrying that output."""
    done = subprocess.run([str(HCC), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"hcc {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout


@dataclass
class Stack:
    gateway_url: str
    rasa_url: str
    action_url: str
    log: Path
    client: httpx.Client
    database_url: str
    model: Path

    def say(self, sender: str, text: str, via: str = "gateway") -> list[dict]:
        """One turn through the REST webhook of the gateway (``via="gateway"``) or of Rasa itself (``"rasa"``)."""
        base = self.gateway_url if via == "gateway" else self.rasa_url
        response = self.client.post(f"{base}{WEBHOOK}", json={"sender": sender, "message": text})
        response.raise_for_status()
        return response.json()


def _log_tail(log: Path, lines: int = 60) -> str:
    return "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]) if log.exists() else ""


@contextmanager
def running(env: dict[str, str], model: Path, workdir: Path, timeout: float = 120) -> Iterator[Stack]:
    """`hcc run --model MODEL` with ``env`` on free ports, yielded once /ready says all three answer."""
    ports = {"HCC_PORT": free_port(), "HCC_RASA_PORT": free_port(), "HCC_ACTION_PORT": free_port()}
    env = {**env, **{name: str(port) for name, port in ports.items()}}
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / f"stack-{ports['HCC_PORT']}.log"
    process = _start(["run", "--model", str(model)], env, log)
    client = httpx.Client(timeout=30)
    stack = Stack(f"http://127.0.0.1:{ports['HCC_PORT']}", f"http://127.0.0.1:{ports['HCC_RASA_PORT']}",
                  f"http://127.0.0.1:{ports['HCC_ACTION_PORT']}", log, client, env["HCC_DATABASE_URL"], model)
    try:
        _wait_ready(stack, process, timeout)
        yield stack
    finally:
        client.close()
        _stop(process)


@contextmanager
def gateway_only(behind: Stack, workdir: Path, port: int, env: dict[str, str] | None = None,
                 timeout: float = 60) -> Iterator[tuple[Stack, subprocess.Popen]]:
    """`hcc run --gateway-only` on ``port`` in front of the Rasa server, action server and database of ``behind``.

    Yields the new gateway's view of the stack and its process (a test may kill it, then start another)."""
    env = {**stack_env(workdir), **(env or {}), "HCC_DATABASE_URL": behind.database_url, "HCC_PORT": str(port),
           "HCC_RASA_PORT": str(urlsplit(behind.rasa_url).port), "HCC_ACTION_PORT": str(urlsplit(behind.action_url).port)}
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / f"gateway-{port}-{time.time_ns()}.log"
    process = _start(["run", "--gateway-only"], env, log)
    client = httpx.Client(timeout=30)
    gateway = replace(behind, gateway_url=f"http://127.0.0.1:{port}", log=log, client=client)
    try:
        _wait_ready(gateway, process, timeout)
        yield gateway, process
    finally:
        client.close()
        _stop(process)


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """`hcc ARGS` in the background, its output in ``log``."""
    with log.open("w", encoding="utf-8") as output:
        # Its own process group, so a stuck stack can be killed whole.
        return subprocess.Popen([str(HCC), *args], cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
                                start_new_session=True)


def _wait_ready(stack: Stack, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"hcc run exited with {process.returncode}:\n{_log_tail(stack.log)}")
        try:
            if stack.client.get(f"{stack.gateway_url}/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the stack was not ready in {timeout:.0f} s:\n{_log_tail(stack.log)}")


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM; hcc run must stop its children itself, else they are killed and the teardown fails."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
    lingering = True
    try:
        os.killpg(process.pid, signal.SIGKILL)  # the whole group, in case anything is left
    except ProcessLookupError:
        lingering = False
    process.wait()
    if lingering:
        raise RuntimeError("hcc run did not stop its child processes on SIGTERM")
