"""Published FAQ answers, and the two actions that fall back on them: out of scope and not understood."""
from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import answers
from actions.learning import note_for_learning
from actions.procedure_cache import procedures
from bot.settings import get_settings
from knowledge_base.faq_search import FaqItem, FaqMatch, shared_faq

logger = logging.getLogger(__name__)

LOW_CONFIDENCE_LIMIT = 2  # consecutive turns not understood before an operator is offered
HUMAN_BUTTON = {"title": "Gặp tổng đài viên", "payload": "/request_human"}
SUGGESTION_TITLE_CHARS = 60  # a button; the whole question is in the text above it
EXAMPLES = ("Làm hộ chiếu cần giấy tờ gì?", "Lệ phí đăng ký kết hôn bao nhiêu?", "Tra cứu hồ sơ 000.00.04.H49-240315-0012")


def faq_reply(item: FaqItem, full: bool = False) -> answers.Reply:
    """The entry's answer, with its linked procedures that are still in the catalogue as follow-ups."""
    links = [(code, record.name) for code in item.procedure_codes if (record := procedures.get(code)) is not None]
    return answers.faq(item.answer, item.id, links, full)


def typed_text(tracker: Tracker) -> str | None:
    """What the citizen typed, or None for a button payload."""
    text = (tracker.latest_message or {}).get("text") or ""
    return None if not text.strip() or text.startswith("/") else text


def nearest_faq(tracker: Tracker) -> FaqMatch | None:
    """The published entry most like what the citizen typed, whatever its score; None also when the KB failed."""
    text = typed_text(tracker)
    try:
        return shared_faq().nearest(text) if text else None
    except Exception:
        logger.exception("FAQ lookup failed")
        return None


def single_link(item: FaqItem) -> list[SlotSet]:
    """An entry about one procedure makes it the conversation's procedure, so follow-ups work."""
    return [SlotSet("procedure_code", item.procedure_codes[0])] if len(item.procedure_codes) == 1 else []


def answer_from_faq(dispatcher: CollectingDispatcher, tracker: Tracker) -> list | None:
    """Answer from the FAQ entry asking the same question: the slot events, or None (no match, or the KB failed)."""
    return answer_with_faq(dispatcher, nearest_faq(tracker))


def answer_with_faq(dispatcher: CollectingDispatcher, found: FaqMatch | None) -> list | None:
    """:func:`answer_from_faq` for an entry already looked up: answered only when it surely is the question."""
    if found is None or not found.sure:
        return None
    try:
        reply = faq_reply(found.item)
    except Exception:
        logger.exception("FAQ lookup failed")
        return None
    dispatcher.utter_message(**reply.message())
    return [SlotSet("low_confidence_turns", 0), *single_link(found.item)]


class ActionOutOfScope(Action):
    def name(self) -> str:
        return "action_out_of_scope"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list:
        answered = answer_from_faq(dispatcher, tracker)
        if answered is not None:
            return answered
        note_for_learning(tracker, "out_of_scope")
        hotline = get_settings().hotline
        dispatcher.utter_message(
            text=(
                "Dạ, câu hỏi này nằm ngoài phạm vi hỗ trợ của Trợ lý HCC. Em có thể hướng dẫn thủ tục hành chính "
                "(giấy tờ, lệ phí, thời hạn, nơi nộp), tra cứu tình trạng hồ sơ và tiếp nhận phản ánh, kiến nghị. "
                f"Việc khác anh/chị vui lòng gọi đường dây nóng {hotline}."
            )
        )
        return [SlotSet("low_confidence_turns", 0)]


class ActionFallback(Action):
    def name(self) -> str:
        return "action_fallback"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list:
        nearest = nearest_faq(tracker)  # looked up once: answered when sure, offered when likely
        answered = answer_with_faq(dispatcher, nearest)
        if answered is not None:
            return answered
        note_for_learning(tracker, "fallback")
        turns = int(tracker.get_slot("low_confidence_turns") or 0) + 1
        if turns >= LOW_CONFIDENCE_LIMIT:
            dispatcher.utter_message(
                text=(
                    "Xin lỗi, em vẫn chưa hiểu ý anh/chị. Anh/chị có muốn gặp tổng đài viên không? "
                    f"Hoặc gọi đường dây nóng {get_settings().hotline}."
                ),
                buttons=[HUMAN_BUTTON],
            )
            return [SlotSet("low_confidence_turns", 0)]
        if nearest is not None and nearest.likely:
            question = nearest.item.question
            dispatcher.utter_message(
                text=f"Xin lỗi, em chưa hiểu rõ ý anh/chị. Có phải anh/chị muốn hỏi «{question}» không ạ?",
                buttons=[{"title": answers.trim(question, SUGGESTION_TITLE_CHARS),
                          "payload": answers.payload("inform", detail=answers.faq_detail(nearest.item.id))}],
            )
            return [SlotSet("low_confidence_turns", turns)]
        examples = "; ".join(f"«{example}»" for example in EXAMPLES)
        dispatcher.utter_message(
            text=f"Xin lỗi, em chưa hiểu ý anh/chị. Anh/chị có thể hỏi ngắn gọn, ví dụ: {examples}."
        )
        return [SlotSet("low_confidence_turns", turns)]
