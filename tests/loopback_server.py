"""An ASGI app under uvicorn on a loopback port, in a thread: the fake Telegram, Zalo and Rasa, and the gateway itself."""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import uvicorn

START_SECONDS = 10.0
STOP_SECONDS = 10.0


@dataclass
class Running:
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> bool:
        """Ask uvicorn to exit, as its SIGTERM handler does, and wait for it; whether it stopped in time."""
        self.server.should_exit = True
        self.thread.join(timeout=STOP_SECONDS)
        return not self.thread.is_alive()


@contextmanager
def serving(app, port: int, **options) -> Iterator[Running]:
    """``app`` on 127.0.0.1:``port`` for the ``with`` block; ``options`` add to or override uvicorn's Config."""
    # No log_level/log_config: uvicorn would set its loggers' levels for the whole test process.
    config = {"log_config": None, "access_log": False, "ws": "wsproto", **options}
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, **config))
    running = Running(server, threading.Thread(target=server.run, daemon=True))
    running.thread.start()
    deadline = time.monotonic() + START_SECONDS
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, f"the server on port {port} did not start"
    try:
        yield running
    finally:
        running.stop()
