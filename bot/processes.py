"""The child processes `hcc run` starts and supervises: the action server and the Rasa server, on 127.0.0.1."""
from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.rasa_stores import lock_store, tracker_store
from bot.settings import PROJECT_ROOT, Settings

log = logging.getLogger(__name__)

STOP_GRACE = 10.0  # seconds a child gets to exit after SIGTERM before SIGKILL
MAX_BACKOFF = 30.0
STABLE_AFTER = 60.0  # a child that ran this long before dying had recovered: its next restart waits the least again


def child_env() -> dict[str, str]:
    """Our environment plus what Rasa's processes need: no telemetry, our packages importable, loopback only."""
    env = os.environ.copy()
    env["RASA_TELEMETRY_ENABLED"] = "false"
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["SANIC_HOST"] = "127.0.0.1"  # rasa_sdk has no --interface option; it reads this instead
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    return env


def write_endpoints(settings: Settings) -> Path:
    """endpoints.yml with the configured action server port, written under var/ for this run."""
    endpoints = yaml.safe_load((PROJECT_ROOT / "endpoints.yml").read_text(encoding="utf-8")) or {}
    endpoints["action_endpoint"] = {**(endpoints.get("action_endpoint") or {}), "url": f"{settings.action_url}/webhook"}
    for name, store in (("tracker_store", tracker_store(settings.resolved_database_url)),
                        ("lock_store", lock_store(settings.redis_url, settings.redis_prefix, settings.redis_lock_timeout))):
        if store is not None:
            endpoints[name] = store
    path = settings.var_dir / f"endpoints-{settings.rasa_port}.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(endpoints, allow_unicode=True), encoding="utf-8")
    return path


def action_server_command(settings: Settings) -> list[str]:
    return [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", str(settings.action_port)]


def rasa_command(settings: Settings, model: Path, endpoints: Path) -> list[str]:
    # --enable-api: benches and tests use /model/parse and /status; it listens on loopback only.
    return [sys.executable, "-m", "bot.rasa_server", "run", "--model", str(model), "--endpoints", str(endpoints),
            "--credentials", str(PROJECT_ROOT / "credentials.yml"), "--interface", "127.0.0.1",
            "--port", str(settings.rasa_port), "--enable-api"]


@dataclass
class Child:
    name: str
    command: list[str]
    process: subprocess.Popen | None = None
    restarts: int = 0
    started_at: float = 0.0  # time.monotonic() of the last start

    def start(self) -> None:
        self.process = subprocess.Popen(self.command, cwd=PROJECT_ROOT, env=child_env())
        self.started_at = time.monotonic()
        log.info("started %s (pid %d)", self.name, self.process.pid)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_GRACE)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass
class Supervisor:
    """Starts the children, restarts one that dies (with a growing pause), stops them all on exit."""

    children: list[Child]
    _stopping: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        for child in self.children:
            child.start()
        self._thread = threading.Thread(target=self._watch, name="hcc-supervisor", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stopping.wait(1.0):
            for child in self.children:
                if child.process is not None and child.process.poll() is not None and not self._stopping.is_set():
                    if time.monotonic() - child.started_at >= STABLE_AFTER:
                        child.restarts = 0  # crashes weeks apart must not each wait the longest pause
                    pause = min(MAX_BACKOFF, 2.0 ** child.restarts)
                    log.warning("%s exited with code %s; restarting in %.0f s", child.name, child.process.returncode, pause)
                    if self._stopping.wait(pause):
                        return
                    child.restarts += 1
                    child.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        for child in reversed(self.children):
            child.stop()


def stack(settings: Settings, model: Path) -> Supervisor:
    """The supervisor of the action server and the Rasa server for ``model``."""
    endpoints = write_endpoints(settings)
    return Supervisor([Child("action server", action_server_command(settings)),
                       Child("Rasa server", rasa_command(settings, model, endpoints))])

