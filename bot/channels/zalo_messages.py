"""Rasa-format replies as Zalo message objects: text cut to Zalo's limit, buttons as template buttons.

A button is ``oa.query.hide``: pressing it sends its payload to the OA as a text message (Zalo delivers it as
``user_send_text``) without showing the raw payload in the citizen's chat."""
from __future__ import annotations

import logging

from bot.channels.chat_text import chunks

log = logging.getLogger(__name__)

TEXT_MAX = 2000  # characters of one consultation text message
BUTTONS_MAX = 5  # buttons under one message
TITLE_MAX = 100  # characters of a button title
PAYLOAD_MAX = 1000  # characters of an oa.query.hide payload
MORE_CHOICES = "Mời anh/chị chọn tiếp:"


def buttons(items: list) -> list[dict]:
    """Zalo template buttons for Rasa buttons; one whose payload Zalo cannot carry is left out (and logged)."""
    result = []
    for item in items:
        if not isinstance(item, dict) or not item.get("title") or not item.get("payload"):
            continue
        payload = str(item["payload"])
        if len(payload) > PAYLOAD_MAX:
            log.warning("Zalo: a button payload of %d characters left out (limit %d)", len(payload), PAYLOAD_MAX)
            continue
        result.append({"title": str(item["title"])[:TITLE_MAX], "type": "oa.query.hide", "payload": payload})
    return result


def _with_buttons(text: str, group: list[dict]) -> dict:
    return {"text": text, "attachment": {"type": "template", "payload": {"buttons": group}}}


def messages(reply: dict) -> list[dict]:
    """One reply as the Zalo messages that carry it: its text in pieces, the buttons under the last piece
    (more than five continue in further messages)."""
    offered = buttons(reply.get("buttons") or [])
    text = str(reply.get("text") or reply.get("image") or ("Mời anh/chị chọn:" if offered else ""))
    result: list[dict] = [{"text": piece} for piece in chunks(text, TEXT_MAX)]
    groups = [offered[start:start + BUTTONS_MAX] for start in range(0, len(offered), BUTTONS_MAX)]
    for index, group in enumerate(groups):
        if index == 0 and result:
            result[-1] = _with_buttons(result[-1]["text"], group)
        else:
            result.append(_with_buttons(MORE_CHOICES, group))
    return result
