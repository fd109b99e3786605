"""The procedure, FAQ and fallback actions over the demo knowledge base, turn by turn."""
from __future__ import annotations

import pytest
from click.testing import CliRunner
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import answers
from actions.faq import ActionFallback, ActionOutOfScope
from actions.procedure_cache import procedures
from actions.procedures import CONFIDENCE, ActionAnswerProcedure, Candidate, decide, mention_text
from bot.cli import main
from bot.settings import get_settings
from knowledge_base import catalogue, faq_search


@pytest.fixture
def demo(hcc_env, monkeypatch):
    result = CliRunner().invoke(main, ["kb", "demo"])
    assert result.exit_code == 0, result.output
    # The process-wide search and caches belong to the previous test's database.
    monkeypatch.setattr(catalogue, "_shared", None)
    monkeypatch.setattr(faq_search, "_shared", {})
    procedures.clear()
    yield hcc_env
    procedures.clear()


def extracted(text: str) -> list[dict]:
    """The ``procedure`` entity as nlu/extractors.ProcedureExtractor makes it from ``text``."""
    words = mention_text(text)
    hits = catalogue.shared_search().search(words, top=3) if words else []
    if not hits or hits[0].score < 0.35:
        return []
    best = hits[0]
    return [{
        "entity": "procedure", "value": best.code, "confidence_entity": best.score, "name": best.name,
        "candidates": [{"code": h.code, "name": h.name, "score": h.score} for h in hits],
    }]


class Conversation:
    """Slots carried from turn to turn, as Rasa would."""

    def __init__(self) -> None:
        self.slots = {"procedure_code": None, "question_type": None, "low_confidence_turns": 0}

    def say(self, action, text: str, intent: str, entities: list[dict] | None = None) -> list[dict]:
        message = {"text": text, "intent": {"name": intent, "confidence": 0.9},
                   "entities": extracted(text) if entities is None else entities}
        tracker = Tracker("citizen", dict(self.slots), message, [], False, None, {}, "action_listen")
        dispatcher = CollectingDispatcher()
        for event in action.run(dispatcher, tracker, {}):
            assert event["event"] == "slot"
            self.slots[event["name"]] = event["value"]
        return dispatcher.messages


def record(code: str):
    return procedures.get(code)


def test_context_carries_over_between_questions(demo):
    chat, action = Conversation(), ActionAnswerProcedure()
    passport = record("1.001456")

    [reply] = chat.say(action, "Làm hộ chiếu cần gì?", "ask_documents")
    assert reply["text"] == answers.documents(passport, get_settings().hotline).text
    assert chat.slots["procedure_code"] == "1.001456" and chat.slots["question_type"] == "documents"

    [reply] = chat.say(action, "thế lệ phí bao nhiêu?", "ask_fee")
    assert reply["text"] == answers.fee(passport, get_settings().hotline).text
    assert chat.slots["question_type"] == "fee"

    [reply] = chat.say(action, "còn đăng ký kết hôn thì sao?", "inform")
    assert reply["text"] == answers.fee(record("1.000894"), get_settings().hotline).text
    assert chat.slots == {"procedure_code": "1.000894", "question_type": "fee", "low_confidence_turns": 0}


def test_the_full_button_asks_again_in_full(demo):
    chat, action = Conversation(), ActionAnswerProcedure()
    [reply] = chat.say(action, "khai sinh cho con cần giấy tờ gì", "ask_documents")
    more = reply["buttons"][-1]
    assert more["title"] == answers.MORE_TITLE
    [whole] = chat.say(action, more["payload"], "ask_documents",
                       [{"entity": "procedure", "value": "1.001193"}, {"entity": "detail", "value": "full"}])
    assert whole["text"] == answers.documents(record("1.001193"), get_settings().hotline, full=True).text


def test_an_unsure_search_offers_the_top_three_and_keeps_the_question(demo):
    chat, action = Conversation(), ActionAnswerProcedure()
    entities = extracted("căn cước")
    scores = [c["score"] for c in entities[0]["candidates"]]
    assert scores[0] >= CONFIDENCE.sure and scores[0] - scores[1] < CONFIDENCE.margin  # the demo data's premise

    assert faq_search.shared_faq().match("căn cước") is None
    [reply] = chat.say(action, "căn cước", "ask_fee", entities)
    assert [b["payload"] for b in reply["buttons"]] == [
        f'/inform{{"procedure": "{c["code"]}"}}' for c in entities[0]["candidates"]]
    assert all(c["code"] in reply["text"] for c in entities[0]["candidates"])
    assert chat.slots["question_type"] == "fee" and chat.slots["procedure_code"] is None

    chosen = entities[0]["candidates"][1]["code"]
    [reply] = chat.say(action, reply["buttons"][1]["payload"], "inform", [{"entity": "procedure", "value": chosen}])
    assert reply["text"] == answers.fee(record(chosen), get_settings().hotline).text
    assert chat.slots["procedure_code"] == chosen


def test_decision_rule():
    assert decide([]) == "none"
    assert decide([Candidate("a", "", None)]) == "answer"
    assert decide([Candidate("a", "", 0.9), Candidate("b", "", 0.6)]) == "answer"
    assert decide([Candidate("a", "", 0.86), Candidate("b", "", 0.84)]) == "choose"
    assert decide([Candidate("a", "", 0.6), Candidate("b", "", 0.3)]) == "suggest"


def test_a_question_without_a_procedure_asks_which_one(demo):
    chat = Conversation()
    [reply] = chat.say(ActionAnswerProcedure(), "cần những giấy tờ gì?", "ask_documents")
    assert "thủ tục nào" in reply["text"] and "giấy tờ cần nộp" in reply["text"]
    assert chat.slots["question_type"] == "documents" and chat.slots["procedure_code"] is None


def test_something_the_catalogue_lacks_is_said_so_with_the_hotline(demo):
    chat = Conversation()
    [reply] = chat.say(ActionAnswerProcedure(), "nuôi chó cần giấy tờ gì", "ask_documents")
    assert "chưa tìm thấy" in reply["text"] and get_settings().hotline in reply["text"]
    assert chat.slots["procedure_code"] is None

    # Half-known words: the closest procedures are suggested, and the hotline.
    [reply] = chat.say(ActionAnswerProcedure(), "giấy phép bay drone cần gì", "ask_documents")
    hits = catalogue.shared_search().search(mention_text("giấy phép bay drone"), top=3)
    assert hits[0].score < CONFIDENCE.sure
    assert "chưa tìm thấy" in reply["text"] and get_settings().hotline in reply["text"]
    assert [b["payload"] for b in reply["buttons"]] == [f'/inform{{"procedure": "{h.code}"}}' for h in hits]


def test_a_follow_up_an_faq_entry_also_asks_is_answered_for_the_procedure_in_context(demo):
    followed = "bao lâu thì có kết quả"
    general = faq_search.shared_faq().match(followed).item
    assert general.procedure_codes != ("1.001456",)  # the general entry on counting time, not the passport's
    chat, action = Conversation(), ActionAnswerProcedure()
    chat.say(action, "Làm hộ chiếu cần gì?", "ask_documents")
    [reply] = chat.say(action, followed, "ask_processing_time", [])
    assert reply["text"] == answers.processing_time(record("1.001456"), get_settings().hotline).text
    assert chat.slots["procedure_code"] == "1.001456"

    [reply] = Conversation().say(action, followed, "ask_processing_time", [])  # nothing in context: the FAQ
    assert reply["text"] == answers.trim(general.answer, answers.SHORT_FAQ_CHARS)


def test_a_half_known_procedure_does_not_answer_from_the_previous_one(demo):
    chat, action = Conversation(), ActionAnswerProcedure()
    chat.say(action, "Làm hộ chiếu cần gì?", "ask_documents")
    [reply] = chat.say(action, "giấy phép bay drone cần gì", "ask_documents")
    assert "chưa tìm thấy" in reply["text"] and "1.001456" not in reply["text"]


def test_a_published_faq_answers_first_with_its_procedure_offered(demo):
    chat, action = Conversation(), ActionAnswerProcedure()
    [reply] = chat.say(action, "Trung tâm làm việc giờ nào?", "ask_procedure", [])
    item = faq_search.shared_faq().match("Trung tâm làm việc giờ nào?").item
    assert item.question == "Trung tâm làm việc vào giờ nào?"
    assert reply["text"] == answers.trim(item.answer, answers.SHORT_FAQ_CHARS)
    more = reply["buttons"][-1]
    assert more["payload"] == f'/inform{{"detail": "faq:{item.id}"}}'
    [whole] = chat.say(action, more["payload"], "inform", [{"entity": "detail", "value": f"faq:{item.id}"}])
    assert whole["text"] == " ".join(item.answer.split())

    # A fee question naming its procedure clearly is the catalogue's, even where an FAQ matches too.
    assert faq_search.shared_faq().match("lệ phí đổi bằng lái") is not None
    [reply] = chat.say(action, "lệ phí đổi bằng lái", "ask_fee")
    assert reply["text"] == answers.answer(procedures.get("3.000347"), "fee", get_settings().hotline).text
    assert chat.slots["procedure_code"] == "3.000347"


def test_out_of_scope_answers_from_the_faq_or_politely_declines(demo):
    chat = Conversation()
    [reply] = chat.say(ActionOutOfScope(), "chủ nhật có làm không", "out_of_scope", [])
    assert reply["text"].startswith("Trung tâm Phục vụ hành chính công tiếp nhận")
    [reply] = chat.say(ActionOutOfScope(), "hôm nay trời đẹp quá", "out_of_scope", [])
    assert "ngoài phạm vi" in reply["text"] and get_settings().hotline in reply["text"]


def test_not_understood_but_near_a_published_question_offers_that_question(demo):
    chat = Conversation()
    typed = "toi muon nop ho so online"
    assert faq_search.shared_faq().match(typed) is None  # not surely that question: no answer given as if it were
    [reply] = chat.say(ActionFallback(), typed, "nlu_fallback", [])
    nearest = faq_search.shared_faq().nearest(typed)
    assert nearest.likely
    item = nearest.item
    assert item.question == "Làm thế nào để nộp hồ sơ trực tuyến?"
    assert reply["text"] == f"Xin lỗi, em chưa hiểu rõ ý anh/chị. Có phải anh/chị muốn hỏi «{item.question}» không ạ?"
    [offered] = reply["buttons"]
    assert offered["payload"] == f'/inform{{"detail": "faq:{item.id}"}}'
    assert chat.slots["low_confidence_turns"] == 1  # still a turn not understood
    [whole] = chat.say(ActionAnswerProcedure(), offered["payload"], "inform", [{"entity": "detail", "value": f"faq:{item.id}"}])
    assert whole["text"] == " ".join(item.answer.split())
    # Far from every question ("bao mat thong tin" is nearest to the border pass's time): nothing offered.
    assert not faq_search.shared_faq().nearest("bao mat thong tin").likely


def test_two_turns_not_understood_offer_an_operator(demo):
    chat = Conversation()
    [reply] = chat.say(ActionFallback(), "xyz abc", "nlu_fallback", [])
    assert "chưa hiểu" in reply["text"] and not reply.get("buttons")
    assert chat.slots["low_confidence_turns"] == 1
    [reply] = chat.say(ActionFallback(), "qwe rty", "nlu_fallback", [])
    assert reply["buttons"] == [{"title": "Gặp tổng đài viên", "payload": "/request_human"}]
    assert chat.slots["low_confidence_turns"] == 0

    chat.say(ActionFallback(), "xyz abc", "nlu_fallback", [])
    chat.say(ActionAnswerProcedure(), "Làm hộ chiếu cần gì?", "ask_documents")
    assert chat.slots["low_confidence_turns"] == 0  # an understood turn breaks the run
    [reply] = chat.say(ActionFallback(), "thứ bảy có làm việc không", "nlu_fallback", [])
    assert reply["text"].startswith("Trung tâm Phục vụ hành chính công tiếp nhận")


def test_a_database_error_gets_an_apology_not_a_crash(demo, monkeypatch):
    def broken(code):
        raise RuntimeError("database down")

    monkeypatch.setattr(procedures, "get", broken)
    chat = Conversation()
    [reply] = chat.say(ActionAnswerProcedure(), "Làm hộ chiếu cần gì?", "ask_documents")
    assert reply["text"] == answers.apology(get_settings().hotline)


def test_a_contact_question_a_published_faq_answers_gets_the_faq_else_the_contact_card(demo, monkeypatch):
    from actions.small_talk import ActionContact
    from knowledge_base import office_time

    monkeypatch.setattr(office_time, "is_holiday", lambda day, settings=None: False)
    chat = Conversation()
    item = faq_search.shared_faq().match("Trung tâm làm việc giờ nào?").item
    [reply] = chat.say(ActionContact(), "Trung tâm làm việc giờ nào?", "ask_contact", [])
    assert reply["text"] == answers.trim(item.answer, answers.SHORT_FAQ_CHARS)
    [card] = chat.say(ActionContact(), "cho xin số hotline", "ask_contact", [])
    assert get_settings().hotline in card["text"] and get_settings().center_name in card["text"]
    assert "nghỉ ngày lễ, Tết" in card["text"]


def test_on_a_holiday_a_contact_question_first_hears_that_the_center_is_closed_today(demo, monkeypatch):
    from actions.small_talk import ActionContact
    from knowledge_base import office_time

    days = []
    monkeypatch.setattr(office_time, "is_holiday", lambda day, settings=None: days.append(day) or True)
    notice, answer = Conversation().say(ActionContact(), "Trung tâm làm việc giờ nào?", "ask_contact", [])
    assert notice["text"] == "Hôm nay là ngày nghỉ lễ, Trung tâm và tổng đài không làm việc."
    assert answer["text"] == answers.trim(faq_search.shared_faq().match("Trung tâm làm việc giờ nào?").item.answer,
                                          answers.SHORT_FAQ_CHARS)
    assert days == [office_time.local().date()]  # the center's own date
