"""Satisfaction ratings: the national three-level scale, the five SIPAS factors if the citizen wishes, a comment."""
from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation import button, conversation_for, entity, latest_intent, latest_text, unavailable
from knowledge_base.db import transaction
from knowledge_base.ratings import FACTORS, LEVELS, record_rating
from knowledge_base.textfold import fold

logger = logging.getLogger(__name__)
FACTOR_SLOTS = {f"rating_{key}": key for key in FACTORS}
FORM_SLOTS = ("rating_level", "rating_details", *FACTOR_SLOTS, "rating_comment")
# Checked in order: "không hài lòng" contains "hài lòng".
LEVEL_WORDS = (
    ("khong_hai_long", ("khong hai long", "chua hai long", "khong vua y", "te", "kem", "buc minh")),
    ("rat_hai_long", ("rat hai long", "tuyet voi", "rat tot", "xuat sac")),
    ("hai_long", ("hai long", "tot", "on", "duoc")),
)
YES = ("co", "dong y", "ok", "oke", "u", "vang", "da co")
SKIP = ("bo qua", "khong", "thoi", "khong co", "khong a")


def level_in(text: str) -> str | None:
    words = f" {fold(text)} "
    for level, phrases in LEVEL_WORDS:
        if any(f" {phrase} " in words for phrase in phrases):
            return level
    return None


def rating_buttons() -> list[dict]:
    return [button(label, f'/rate_service{{"rating_level": "{key}"}}') for key, label in LEVELS.items()]


class ValidateRatingForm(FormValidationAction):
    def name(self) -> str:
        return "validate_rating_form"

    async def required_slots(self, domain_slots: list, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        if tracker.get_slot("rating_details") == "co":
            return ["rating_level", "rating_details", *FACTOR_SLOTS, "rating_comment"]
        return domain_slots

    async def extract_rating_level(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> dict:
        chosen = entity(tracker, "rating_level")
        asked = tracker.get_slot("requested_slot") in (None, "rating_level")
        if chosen is None and asked and latest_intent(tracker) not in ("deny", "request_human"):
            chosen = level_in(latest_text(tracker))
        return {"rating_level": chosen} if chosen and asked else {}

    def validate_rating_level(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> dict:
        return {"rating_level": value if value in LEVELS else None}

    def validate_rating_details(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> dict:
        return {"rating_details": "co" if fold(str(value or "")).strip(" .!") in YES or latest_intent(tracker) == "affirm" else "khong"}

    def validate_rating_comment(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> dict:
        text = str(value or "").strip()
        return {"rating_comment": "-" if fold(text).strip(" .!") in SKIP else text[:2000]}


def _factor_extractor(slot: str):
    async def extract(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> dict:
        if tracker.get_slot("requested_slot") != slot:
            return {}
        scores = re.findall(r"(?<!\d)[1-5](?!\d)", latest_text(tracker))
        if len(scores) != 1:
            dispatcher.utter_message(text="Anh/chị chọn một điểm từ 1 (rất kém) đến 5 (rất tốt) giúp em.")
            return {}
        return {slot: float(scores[0])}
    return extract


for _slot in FACTOR_SLOTS:
    setattr(ValidateRatingForm, f"extract_{_slot}", _factor_extractor(_slot))


def cleared() -> list:
    """The form's slots emptied: a rating stored or dropped, the next one starts afresh."""
    return [SlotSet(slot, None) for slot in FORM_SLOTS]


def store_rating(tracker: Tracker) -> None:
    """The rating the form's slots hold so far, stored with the conversation's dossier and procedure."""
    factors = {key: int(tracker.get_slot(slot)) for slot, key in FACTOR_SLOTS.items() if tracker.get_slot(slot)}
    comment = tracker.get_slot("rating_comment")
    with transaction() as session:
        record_rating(
            session, tracker.get_slot("rating_level"), factors=factors, comment=None if comment == "-" else comment,
            tracking_code=tracker.get_slot("dossier_code"), procedure_code=tracker.get_slot("procedure_code"),
            conversation_id=conversation_for(session, tracker).id,
        )


class ActionSubmitRating(Action):
    def name(self) -> str:
        return "action_submit_rating"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        level = tracker.get_slot("rating_level")
        reset = cleared()
        try:
            store_rating(tracker)
        except ValueError as error:
            dispatcher.utter_message(text=str(error))
            return reset
        except Exception:
            dispatcher.utter_message(text="Xin lỗi, em chưa lưu được đánh giá. " + unavailable())
            return reset
        if level == "khong_hai_long":
            dispatcher.utter_message(
                text="Em xin ghi nhận và thành thật xin lỗi vì trải nghiệm chưa tốt. Anh/chị có muốn gửi phản ánh hoặc gặp tổng đài viên không?",
                buttons=[button("Gửi phản ánh", "/complain"), button("Gặp tổng đài viên", "/request_human")])
        else:
            dispatcher.utter_message(text="Em cảm ơn anh/chị đã đánh giá. Ý kiến của anh/chị giúp Trung tâm phục vụ tốt hơn.")
        return reset


class ActionKeepRating(Action):
    """A citizen who chose a level and then asked something else, or for a person, has still rated."""

    def name(self) -> str:
        return "action_keep_rating"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        if tracker.get_slot("rating_level") in LEVELS:
            try:
                store_rating(tracker)  # silently: the reply is the answer to what they asked instead
            except Exception:
                logger.exception("a rating left unfinished was not stored")
        return cleared()
