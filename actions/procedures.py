"""``action_answer_procedure``: answer a question about a procedure from the catalogue.

Which question: the latest intent (``inform`` keeps the conversation's). Which procedure: the
``procedure`` entity (a button's or the extractor's), else words of the message the catalogue
half-knows, else the conversation's ``procedure_code``. The extractor's candidates decide between
answering, asking which of a few, and saying nothing matched.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import answers
from actions.faq import answer_from_faq, faq_reply, typed_text
from actions.learning import note_for_learning
from actions.procedure_cache import procedures
from bot.settings import get_settings
from knowledge_base.catalogue import shared_search
from knowledge_base.faq_search import shared_faq
from knowledge_base.lexicon import LEXICON_PATH
from knowledge_base.textfold import canonical, fold, has_diacritics, syllables
from nlu.cues import CUES_PATH

logger = logging.getLogger(__name__)

TYPE_OF_INTENT = {intent: kind for kind, intent in answers.QUESTION_INTENTS.items()}
ASKED_ABOUT = {
    "documents": "giấy tờ cần nộp",
    "fee": "lệ phí",
    "processing_time": "thời hạn giải quyết",
    "where": "nơi nộp hồ sơ",
    "online": "cách nộp trực tuyến",
    "overview": "thông tin",
}
CHOICES = 3


@dataclass(frozen=True)
class Confidence:
    """When a search result is the procedure meant (scores from ``hcc kb search``, in [0, 1]).

    On the demo catalogue a named procedure scores 0.78–0.93 and leads the next by ≥ 0.1 ("đổi
    giấy phép lái xe" 0.89 / 0.62), a family name leaves several within 0.1 ("căn cước" 0.86 /
    0.84 / 0.84), and something the catalogue lacks tops out near 0.6 ("giấy phép bay drone").
    """

    sure: float = 0.7  # below: not the procedure meant, only the closest one
    margin: float = 0.1  # a runner-up this close makes it a choice between them
    named: float = 0.5  # a message scoring this names a procedure of its own: the conversation's is set aside


CONFIDENCE = Confidence()


@dataclass(frozen=True)
class Candidate:
    code: str
    name: str
    score: float | None  # None: chosen by the citizen (a button), not guessed


def decide(candidates: list[Candidate], rule: Confidence = CONFIDENCE) -> str:
    """"answer" the first, "choose" among the close ones, or "suggest" them as nearest; "none" when empty."""
    if not candidates:
        return "none"
    best = candidates[0]
    if best.score is None:
        return "answer"
    if best.score < rule.sure:
        return "suggest"
    if len(candidates) > 1 and candidates[1].score is not None and best.score - candidates[1].score < rule.margin:
        return "choose"
    return "answer"


def mentioned(tracker: Tracker) -> list[Candidate]:
    """The procedure entity of the latest message: its value first, then the runner-ups."""
    for found in (tracker.latest_message or {}).get("entities") or []:
        if found.get("entity") != "procedure" or not found.get("value"):
            continue
        code = str(found["value"])
        score = found.get("confidence_entity")
        first = Candidate(code, str(found.get("name") or ""), float(score) if score is not None else None)
        others = [
            Candidate(str(c["code"]), str(c.get("name") or ""), float(c.get("score") or 0.0))
            for c in found.get("candidates") or []
            if c.get("code") and str(c["code"]) != code
        ]
        return [first, *others]
    return []


@lru_cache(maxsize=1)
def question_words() -> frozenset[tuple[str, ...]]:
    """Question words and filler (``nlu/cues.yaml``, the lexicon's filler) as syllable tuples, marks kept."""
    words = yaml.safe_load(CUES_PATH.read_text(encoding="utf-8")) or []
    filler = (yaml.safe_load(LEXICON_PATH.read_text(encoding="utf-8")) or {}).get("filler") or []
    return frozenset(tuple(syllables(str(item))) for item in [*words, *filler] if syllables(str(item)))


def _says(typed: list[str], phrase: tuple[str, ...]) -> bool:
    """Typed with marks, a syllable must be the phrase's own ("hộ" is not "hồ"); bare, folding decides."""
    return all(
        canonical(word) == canonical(want) if has_diacritics(word) else fold(word) == fold(want)
        for word, want in zip(typed, phrase)
    )


def mention_text(text: str) -> str:
    """The words of ``text`` that may name a procedure: question words and filler left out."""
    words = syllables(text)
    phrases = sorted(question_words(), key=len, reverse=True)
    kept, i = [], 0
    while i < len(words):
        size = next((len(p) for p in phrases if i + len(p) <= len(words) and _says(words[i : i + len(p)], p)), 0)
        if size:
            i += size
        else:
            kept.append(words[i])
            i += 1
    return " ".join(kept)


def searched(text: str) -> list[Candidate]:
    return [Candidate(hit.code, hit.name, hit.score) for hit in shared_search().search(text, top=CHOICES)]


def latest_entity(tracker: Tracker, name: str) -> str | None:
    return next(iter(tracker.get_latest_entity_values(name)), None)


class ActionAnswerProcedure(Action):
    def name(self) -> str:
        return "action_answer_procedure"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list:
        try:
            return self.answer(dispatcher, tracker)
        except Exception:
            logger.exception("answering a procedure question failed")
            dispatcher.utter_message(text=answers.apology(get_settings().hotline))
            return [SlotSet("low_confidence_turns", 0)]

    def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list:
        hotline = get_settings().hotline
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        kept = tracker.get_slot("question_type")
        question = TYPE_OF_INTENT.get(intent) or (kept if kept in answers.QUESTION_TYPES else "overview")
        events: list = [SlotSet("question_type", question), SlotSet("low_confidence_turns", 0)]
        detail = latest_entity(tracker, "detail")

        faq_id = answers.faq_id_of(detail)
        if faq_id is not None:
            item = shared_faq().get(faq_id)
            if item is not None:
                dispatcher.utter_message(**faq_reply(item, full=True).message())
                return events
        text = typed_text(tracker)
        candidates = mentioned(tracker)
        words = mention_text(text) if text and not candidates else ""
        if words:
            candidates = searched(words)
        context = tracker.get_slot("procedure_code")
        verdict = decide(candidates)
        if verdict in ("none", "suggest") and context and not self._names_something(candidates):
            candidates, verdict = [Candidate(context, "", None)], "answer"
        # A fee, time or document question about a procedure clearly named, or followed up from the last
        # turn ("bao lâu thì có?" after the passport), is the catalogue's to answer (its figures are the
        # reference); otherwise a published FAQ asking the same comes first.
        if not (verdict == "answer" and question != "overview"):
            answered = answer_from_faq(dispatcher, tracker)
            if answered is not None:
                return events + answered

        if verdict == "answer":
            record = procedures.get(candidates[0].code)
            if record is None:
                dispatcher.utter_message(text=f"Thủ tục mã {candidates[0].code} hiện không có trong danh mục. {answers.hotline_note(hotline)}")
                return events
            dispatcher.utter_message(**answers.answer(record, question, hotline, full=detail == answers.FULL).message())
            return events + [SlotSet("procedure_code", record.code)]
        if verdict == "choose":
            self._offer(dispatcher, f"Anh/chị muốn hỏi {ASKED_ABOUT[question]} của thủ tục nào ạ?", candidates)
            return events
        if verdict == "suggest":
            note_for_learning(tracker, "low_confidence")
            self._offer(
                dispatcher,
                f"Em chưa tìm thấy thủ tục đúng như anh/chị hỏi. Có phải anh/chị muốn hỏi một trong các thủ tục sau? "
                f"Nếu không, anh/chị vui lòng gọi đường dây nóng {hotline}.",
                candidates,
            )
            return events
        if words:
            note_for_learning(tracker, "not_found")
            dispatcher.utter_message(
                text=f"Em chưa tìm thấy thủ tục «{words}» trong danh mục. Anh/chị thử gọi tên khác của thủ tục, "
                f"hoặc gọi đường dây nóng {hotline} để được hướng dẫn."
            )
            return events
        dispatcher.utter_message(
            text=f"Anh/chị muốn hỏi {ASKED_ABOUT[question]} của thủ tục nào ạ? Ví dụ: «làm hộ chiếu», «đăng ký kết hôn»."
        )
        return events

    @staticmethod
    def _names_something(candidates: list[Candidate]) -> bool:
        """Whether the message itself half-names a procedure, enough to set the conversation's aside."""
        return bool(candidates) and (candidates[0].score or 0.0) >= CONFIDENCE.named

    @staticmethod
    def _offer(dispatcher: CollectingDispatcher, text: str, candidates: list[Candidate]) -> None:
        """The first few candidates named in the text and offered as buttons."""
        shown = []
        for candidate in candidates[:CHOICES]:
            name = candidate.name or (record.name if (record := procedures.get(candidate.code)) else candidate.code)
            shown.append((candidate.code, name))
        lines = [text, *(f"{i}. {' '.join(name.split())} (mã {code})" for i, (code, name) in enumerate(shown, 1))]
        buttons = [{"title": answers.short_name(name), "payload": answers.payload("inform", procedure=code)} for code, name in shown]
        dispatcher.utter_message(text="\n".join(lines), buttons=buttons)
