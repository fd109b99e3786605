"""Putting a turn the bot did not handle well into the admins' learning inbox, without ever failing the reply."""
from __future__ import annotations

import logging

from rasa_sdk import Tracker

from actions.conversation import conversation_for, latest_text
from knowledge_base import learning
from knowledge_base.db import transaction

logger = logging.getLogger(__name__)


def nlu_guess(tracker: Tracker) -> tuple[str | None, float | None]:
    """NLU's best real intent for the latest message (the fallback pseudo-intent skipped), and its confidence."""
    for ranked in (tracker.latest_message or {}).get("intent_ranking") or []:
        if ranked.get("name") and ranked["name"] != "nlu_fallback":
            confidence = ranked.get("confidence")
            return ranked["name"], float(confidence) if confidence is not None else None
    return None, None


def note_for_learning(tracker: Tracker, kind: str) -> None:
    """Record the citizen's typed message as an inbox item of ``kind``; button presses are skipped."""
    text = latest_text(tracker)
    if not text.strip() or text.startswith("/"):
        return
    intent, confidence = nlu_guess(tracker)
    try:
        with transaction() as session:
            learning.record(session, kind, text, conversation_for(session, tracker).id, intent, confidence)
    except Exception:  # the citizen's answer matters more than the inbox
        logger.exception("could not record a learning item")
