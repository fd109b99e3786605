"""Greeting, goodbye and the center's contact details: texts that name the center come from settings."""
from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation import button, latest_intent
from actions.faq import answer_from_faq
from actions.handoff import waiting_text
from knowledge_base.office_time import holiday_today, office_hours_text
from actions.ratings import rating_buttons
from bot.settings import get_settings

ANSWERING = ("action_answer_procedure", "action_lookup_dossier", "action_confirm_phone", "action_ticket_status",
             "action_submit_complaint", "action_submit_callback", "action_handoff")


def menu_buttons() -> list[dict]:
    return [button("Tra cứu hồ sơ", "/lookup_dossier"), button("Gửi phản ánh", "/complain"),
            button("Gặp tổng đài viên", "/request_human")]


class ActionGreet(Action):
    def name(self) -> str:
        return "action_greet"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        waiting = waiting_text(tracker)  # "alo" while queued asks after the operator, not who the bot is
        if waiting:
            dispatcher.utter_message(text=waiting)
            return []
        dispatcher.utter_message(text=(
            f"Xin chào anh/chị! Em là Trợ lý ảo của {get_settings().center_name}. Em có thể giải đáp giấy tờ, lệ phí, "
            "thời gian, nơi nộp của các thủ tục hành chính, tra cứu hồ sơ theo mã, tiếp nhận phản ánh và kết nối tổng đài viên. "
            "Anh/chị cứ nhắn câu hỏi, ví dụ: «làm hộ chiếu cần giấy tờ gì»."), buttons=menu_buttons())
        return []


def served_and_unrated(tracker: Tracker) -> bool:
    """This session answered something and has no rating yet: the moment to offer one."""
    names = [e.get("name") for e in tracker.events_after_latest_restart() if e.get("event") == "action"]
    session_start = max((i for i, name in enumerate(names) if name == "action_session_start"), default=-1)
    names = names[session_start + 1:]
    return any(name in ANSWERING for name in names) and "action_submit_rating" not in names


class ActionGoodbye(Action):
    def name(self) -> str:
        return "action_goodbye"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        text = "Dạ, không có gì ạ." if latest_intent(tracker) == "thank" else "Cảm ơn anh/chị đã liên hệ. Chúc anh/chị một ngày tốt lành!"
        if served_and_unrated(tracker):
            dispatcher.utter_message(text=f"{text} Anh/chị đánh giá giúp em mức độ hài lòng với lần hỗ trợ này nhé:",
                                     buttons=rating_buttons())
        else:
            dispatcher.utter_message(text=text)
        return []


class ActionContact(Action):
    def name(self) -> str:
        return "action_contact"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        if holiday_today():  # whatever the FAQ says of opening hours, today they do not hold
            dispatcher.utter_message(text="Hôm nay là ngày nghỉ lễ, Trung tâm và tổng đài không làm việc.")
        # "Trung tâm có bãi gửi xe không?" reads as a contact question; a published FAQ knows better.
        answered = answer_from_faq(dispatcher, tracker)
        if answered is not None:
            return answered
        settings = get_settings()
        dispatcher.utter_message(text=(
            f"{settings.center_name}\nĐường dây nóng: {settings.hotline}\nGiờ làm việc: {office_hours_text()} (nghỉ ngày lễ, Tết)\n"
            "Nộp hồ sơ trực tuyến: Cổng Dịch vụ công quốc gia https://dichvucong.gov.vn"), buttons=[button("Gặp tổng đài viên", "/request_human")])
        return []
