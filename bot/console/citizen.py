"""Operator-side messages to the citizen on the citizen's own channel; each is stored before it is sent."""
from __future__ import annotations

import logging

from starlette.applications import Starlette

from bot.channels import telegram, zalo
from bot.console import hub

log = logging.getLogger(__name__)


def _telegram(app: Starlette):
    application = getattr(app.state, "telegram", None)
    return application if application is not None and application.running else None


async def send(app: Starlette, channel: str, sender: str, messages: list[dict]) -> bool:
    """Push stored messages (``delivery.outbound`` dicts) to the citizen: the widget reads them from the
    database on every instance; Telegram and Zalo get them through their APIs. REST has no push: they stay stored.
    False when Telegram or Zalo did not take one of them (the dossier notifier retries then)."""
    sent = True
    if channel == "widget":
        await hub.publish({"type": "citizen", "channel": channel, "sender": sender})
    elif channel == "telegram":
        for message in messages:
            if not await telegram.deliver(sender, {"text": message["text"], "buttons": message.get("buttons") or []}):
                log.error("a message to a Telegram chat is stored but was not sent")
                sent = False
    elif channel == "zalo":
        for message in messages:  # a refusal (outside the consultation window) is noted in the conversation
            if not await zalo.deliver(sender, {"text": message["text"], "buttons": message.get("buttons") or []}):
                sent = False
    return sent


async def typing(app: Starlette, channel: str, sender: str, on: bool) -> None:
    """Show the citizen that the operator is typing, where the channel can."""
    if channel == "widget":
        await hub.publish({"type": "typing", "channel": channel, "sender": sender, "author": "operator", "on": on})
    elif channel == "telegram" and on:
        application = _telegram(app)
        if application is not None:
            try:
                await application.bot.send_chat_action(sender, "typing")
            except Exception as error:  # noqa: BLE001 - a hint only; never worth failing the operator's action
                log.info("Telegram typing hint skipped: %s", type(error).__name__)
