"""`hcc run` serves the gateway for real: a process on a loopback port answering /health."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_hcc_run_serves_health(hcc_env):
    port = free_port()
    hcc = Path(sys.executable).with_name("hcc")
    process = subprocess.Popen([str(hcc), "run", "--gateway-only", "--port", str(port)], cwd=ROOT, env=os.environ.copy(),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline, response = time.monotonic() + 60, None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.3)
        assert response is not None, process.stdout.read() if process.poll() is not None else "no answer in 60 s"
        assert response.status_code == 200 and response.json()["status"] == "ok"
    finally:
        process.terminate()
        process.wait(timeout=20)
