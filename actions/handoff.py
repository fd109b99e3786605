"""Escalation to hotline staff: a place in the queue in office hours, a callback request outside them."""
from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation import conversation_for, entity, previous_action, unavailable
from bot.settings import get_settings
from knowledge_base import form_input, handoffs
from knowledge_base.db import transaction
from knowledge_base.office_time import holiday_today, office_hours_text

logger = logging.getLogger(__name__)
REASON_AFTER = {"action_fallback": "fallback", "action_submit_rating": "low_rating", "action_submit_complaint": "complaint"}


class ActionHandoff(Action):
    def name(self) -> str:
        return "action_handoff"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        if not handoffs.office_open():
            closed = ("Hôm nay là ngày nghỉ lễ, tổng đài không làm việc" if holiday_today()
                      else "Hiện ngoài giờ làm việc của tổng đài")
            dispatcher.utter_message(text=(
                f"{closed} (giờ làm việc: {office_hours_text()}). "
                f"Em sẽ ghi lại để tổng đài viên gọi lại cho anh/chị trong giờ làm việc tiếp theo."))
            return [SlotSet("office_open", False)]
        reason = REASON_AFTER.get(previous_action(tracker) or "", "request")
        try:
            with transaction() as session:
                place = handoffs.request_handoff(session, conversation_for(session, tracker), reason)
        except Exception:
            dispatcher.utter_message(text=f"Xin lỗi, em chưa kết nối được tổng đài viên. Anh/chị vui lòng gọi {get_settings().hotline}.")
            return [SlotSet("office_open", True)]
        if place.position == 0:
            text = "Tổng đài viên đang hỗ trợ anh/chị trong cuộc trò chuyện này, anh/chị cứ nhắn nội dung cần hỗ trợ."
        else:
            text = f"Em đã chuyển cuộc trò chuyện tới tổng đài viên. {place_text(place)}"
        dispatcher.utter_message(text=text)
        return [SlotSet("office_open", True)]


def place_text(place: handoffs.HandoffTicket) -> str:
    return (f"Anh/chị đang ở vị trí số {place.position} trong hàng chờ, thời gian chờ dự kiến khoảng "
            f"{place.expected_wait_minutes} phút. Trong lúc chờ, anh/chị cứ nhắn nội dung cần hỗ trợ.")


def waiting_text(tracker: Tracker) -> str | None:
    """Where the conversation stands in the operators' queue, when it waits there; None also when the KB failed."""
    try:
        with transaction() as session:
            place = handoffs.waiting_place(session, conversation_for(session, tracker))
    except Exception:
        logger.exception("the queue place could not be read")
        return None
    return f"Em vẫn đang chờ tổng đài viên cho anh/chị. {place_text(place)}" if place else None


class ValidateCallbackForm(FormValidationAction):
    def name(self) -> str:
        return "validate_callback_form"

    def validate_callback_phone(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> dict:
        try:
            return {"callback_phone": form_input.phone(entity(tracker, "phone_number") or str(value or ""))}
        except ValueError as error:
            dispatcher.utter_message(text=str(error))
            return {"callback_phone": None}


    def validate_callback_time(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> dict:
        text = " ".join(str(value or "").split())
        if not text:
            return {"callback_time": None}
        return {"callback_time": text[:200]}


class ActionSubmitCallback(Action):
    def name(self) -> str:
        return "action_submit_callback"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        phone = tracker.get_slot("callback_phone")
        reason = REASON_AFTER.get(previous_action(tracker) or "", "request")
        try:
            with transaction() as session:
                ticket = handoffs.request_callback(session, conversation_for(session, tracker), phone, reason,
                                                   preferred_time=tracker.get_slot("callback_time"))
                number = ticket.number
        except Exception:
            dispatcher.utter_message(text="Xin lỗi, em chưa ghi nhận được yêu cầu gọi lại. " + unavailable())
            return [SlotSet("callback_phone", None), SlotSet("callback_time", None)]
        dispatcher.utter_message(text=(
            f"Em đã ghi nhận yêu cầu gọi lại số {number}. Tổng đài viên sẽ gọi vào số có đuôi {phone[-4:]} "
            f"trong giờ làm việc ({office_hours_text()})."))
        return [SlotSet("callback_phone", None), SlotSet("callback_time", None)]
