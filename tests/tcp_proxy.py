"""A loopback TCP proxy a test can cut and restore, to stage a server's outage without stopping the server.

Cut: every open connection is closed on both sides and the port refuses new ones, as when the server dies.
Restore: the same port accepts and forwards again, as when the server is back.
Lag: every answer from the server waits a while, as from a loaded server; a test widens a window with it."""
from __future__ import annotations

import asyncio
import threading
from contextlib import suppress
from types import TracebackType
from urllib.parse import urlsplit, urlunsplit

from stack import free_port

STEP_TIMEOUT = 10.0  # seconds a cut or a restore may take


class TcpProxy:
    """Forwards 127.0.0.1:``port`` to ``target_host``:``target_port`` from its own event loop thread."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"tcp-proxy-{self.port}", daemon=True)
        self._server: asyncio.AbstractServer | None = None
        self._pipes: set[asyncio.Task] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self.lag = 0.0  # seconds each chunk from the server waits before it is passed on

    @classmethod
    def to(cls, url: str, default_port: int) -> TcpProxy:
        """A proxy to the server of ``url`` (postgresql://…, redis://…)."""
        parts = urlsplit(url)
        return cls(parts.hostname or "127.0.0.1", parts.port or default_port)

    def url(self, url: str) -> str:
        """``url`` with its host and port replaced by the proxy's: the same server, database and user."""
        parts = urlsplit(url)
        user = parts.netloc.rpartition("@")[0]
        return urlunsplit(parts._replace(netloc=f"{user}@127.0.0.1:{self.port}" if user else f"127.0.0.1:{self.port}"))

    def __enter__(self) -> TcpProxy:
        self._thread.start()
        self.restore()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=STEP_TIMEOUT)
        self._loop.close()

    def cut(self) -> None:
        """Close every connection and stop listening: clients see the server gone."""
        asyncio.run_coroutine_threadsafe(self._cut(), self._loop).result(STEP_TIMEOUT)

    def restore(self) -> None:
        """Listen on the same port again, without lag."""
        self.lag = 0.0
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(STEP_TIMEOUT)

    async def _listen(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port, reuse_address=True)

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.close()
        for pipe in list(self._pipes):
            pipe.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.close()
            return
        self._writers.update((client_writer, server_writer))
        pipes = [asyncio.ensure_future(self._pump(client_reader, server_writer)),
                 asyncio.ensure_future(self._pump(server_reader, client_writer, lagged=True))]
        self._pipes.update(pipes)
        try:
            # Either side closing ends the other: a half-open connection would look alive to the client.
            await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pipe in pipes:
                pipe.cancel()
            for writer in (client_writer, server_writer):
                writer.close()
                self._writers.discard(writer)
            await asyncio.gather(*pipes, return_exceptions=True)
            self._pipes.difference_update(pipes)

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, lagged: bool = False) -> None:
        with suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                if lagged and self.lag:
                    await asyncio.sleep(self.lag)
                writer.write(data)
                await writer.drain()
