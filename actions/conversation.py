"""What every action reads from the tracker, and the knowledge-base row of its conversation."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from sqlalchemy.orm import Session

from bot.settings import get_settings
from knowledge_base import conversations
from knowledge_base.models import Conversation


def conversation_for(session: Session, tracker: Tracker) -> Conversation:
    channel, sender = conversations.split_sender_id(tracker.sender_id)
    return conversations.get_or_create(session, channel, sender)


def latest_text(tracker: Tracker) -> str:
    return (tracker.latest_message or {}).get("text") or ""


def latest_intent(tracker: Tracker) -> str | None:
    return ((tracker.latest_message or {}).get("intent") or {}).get("name")


def entity(tracker: Tracker, name: str) -> Any:
    """The first value of entity ``name`` in the latest message, or None."""
    return next(tracker.get_latest_entity_values(name), None)


def previous_action(tracker: Tracker) -> str | None:
    """The last action the bot ran before the current turn's actions (listen and session events aside)."""
    seen_user = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            seen_user = True
        elif seen_user and event.get("event") == "action" and event.get("name") not in (
                "action_listen", "action_session_start", "action_extract_slots"):
            return event.get("name")
    return None


def button(title: str, payload: str) -> dict[str, str]:
    return {"title": title, "payload": payload}


def unavailable() -> str:
    """What the citizen reads when the knowledge base cannot be reached."""
    return f"Xin lỗi, hệ thống đang gián đoạn. Anh/chị vui lòng thử lại sau ít phút hoặc gọi {get_settings().hotline}."
