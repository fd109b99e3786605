"""The console hub: events between the gateway's channels and the operators' consoles.

Events are small JSON dicts; whoever receives one reads the details from the database, so a missed event
costs nothing but latency. In one process the hub is a set of listeners; with ``HCC_REDIS_URL`` every event
goes through a Redis channel, so a widget socket on one gateway instance hears an operator on another.

Event types: ``queue`` (the queue changed), ``conversation`` {channel, sender} (new messages are stored),
``typing`` {channel, sender, author, on}, ``citizen`` {channel, sender} (a citizen's socket should read
what is stored: handled by ``bot.delivery`` on every instance)."""
from __future__ import annotations

import asyncio
import json
import logging
from contextlib import suppress
from typing import Awaitable, Callable

from bot import delivery
from bot.settings import get_settings

log = logging.getLogger(__name__)

Listener = Callable[[dict], Awaitable[None]]

_listeners: set[Listener] = set()
_redis = None  # redis.asyncio client while the relay runs


def subscribe(listener: Listener) -> None:
    _listeners.add(listener)


def unsubscribe(listener: Listener) -> None:
    _listeners.discard(listener)


async def publish(event: dict) -> None:
    """Send ``event`` to every console (and citizen socket) of every gateway instance."""
    if _redis is not None:
        try:
            await _redis.publish(_channel_name(), json.dumps(event, ensure_ascii=False))
            return
        except Exception as error:  # noqa: BLE001 - Redis down: this instance's listeners still hear it
            log.warning("console event not relayed through Redis: %s", type(error).__name__)
    await fan_out(event)


async def fan_out(event: dict) -> None:
    """Deliver ``event`` to this process's listeners only."""
    if event.get("type") == "citizen":
        await delivery.announce(event["channel"], event["sender"])
        return
    if event.get("type") == "typing" and event.get("author") == "operator":
        await delivery.deliver(event["channel"], event["sender"], {"type": "typing", "on": bool(event.get("on"))})
        return
    listeners = list(_listeners)
    results = await asyncio.gather(*(listener(event) for listener in listeners), return_exceptions=True)
    for listener, result in zip(listeners, results):
        if isinstance(result, BaseException):
            log.info("a console listener failed: %s", type(result).__name__)
            unsubscribe(listener)


def _channel_name() -> str:
    return f"{get_settings().redis_prefix}console"


async def relay(on_subscribed: Callable[[], None] | None = None) -> None:
    """Fan out every event published through Redis to this instance, until cancelled or Redis is lost.

    ``on_subscribed`` is called once the subscription stands."""
    global _redis
    import redis.asyncio as redis

    client = redis.from_url(get_settings().redis_url)
    pubsub = client.pubsub()
    try:
        await pubsub.subscribe(_channel_name())
        _redis = client
        if on_subscribed is not None:
            on_subscribed()
        async for item in pubsub.listen():
            if item.get("type") != "message":
                continue
            try:
                event = json.loads(item["data"])
            except ValueError:
                continue
            await fan_out(event)
    finally:
        _redis = None
        with suppress(Exception):
            await pubsub.aclose() if hasattr(pubsub, "aclose") else await pubsub.close()
        with suppress(Exception):
            await client.aclose() if hasattr(client, "aclose") else await client.close()
