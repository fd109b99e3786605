"""Background loops that live as long as the gateway: started on entry, cancelled and awaited on exit."""
from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager, suppress
from typing import AsyncIterator, Awaitable


@asynccontextmanager
async def tasks_running(*loops: Awaitable[None]) -> AsyncIterator[None]:
    tasks = [asyncio.create_task(loop) for loop in loops]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with suppress(asyncio.CancelledError):
                await task
