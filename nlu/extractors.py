"""Entity extractors: tracking codes, phone numbers, and procedures resolved against the catalogue."""
from __future__ import annotations

import logging
import threading
from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.nlu.constants import TOKENS_NAMES
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from knowledge_base.tickets import TICKET_NUMBER, find_ticket_numbers
from knowledge_base.tracking_code import find_tracking_codes
from nlu.phone import find_phone_numbers
from nlu.tokenizer import PLACEHOLDERS

logger = logging.getLogger(__name__)


CODE_ENTITIES = ("tracking_code", "ticket_number")
MENTION = "inform"  # a procedure named on its own: the rules answer its overview, or the question asked before


def entity(kind: str, start: int, end: int, text: str, value: Any, confidence: float = 1.0, **extra: Any) -> dict:
    return {"entity": kind, "start": start, "end": end, "value": value, "confidence_entity": confidence, "text": text[start:end], **extra}


class _Extractor(GraphComponent, EntityExtractorMixin):
    """Adds what ``find`` finds in a message's text to its entities."""

    def __init__(self, config: Dict[Text, Any]) -> None:
        self._config = config

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {}

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource, execution_context: ExecutionContext) -> "_Extractor":
        return cls(config)

    def find(self, message: Message) -> list[dict]:
        raise NotImplementedError

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            if not message.get(TEXT):
                continue
            found = self.add_extractor_name(self.find(message))
            message.set(ENTITIES, message.get(ENTITIES, []) + found, add_to_output=True)
        return messages


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class TrackingCodeExtractor(_Extractor):
    """``tracking_code``: <agency>-<YYMMDD>-<NNNN>, spaces and case tolerated, real dates only."""

    def find(self, message: Message) -> list[dict]:
        text = message.get(TEXT)
        return [entity("tracking_code", c.start, c.end, text, str(c)) for c in find_tracking_codes(text)]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class TicketNumberExtractor(_Extractor):
    """``ticket_number``: a complaint's PA-YYMMDD-NNNN, value upper-case without spaces."""

    def find(self, message: Message) -> list[dict]:
        text = message.get(TEXT)
        return [entity("ticket_number", m.start(), m.end(), text, find_ticket_numbers(m.group())[0])
                for m in TICKET_NUMBER.finditer(text)]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class PhoneNumberExtractor(_Extractor):
    """``phone_number``: Vietnamese mobile or landline, value in national form (0…)."""

    def find(self, message: Message) -> list[dict]:
        text = message.get(TEXT)
        return [entity("phone_number", p.start, p.end, text, p.digits) for p in find_phone_numbers(text)]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class ProcedureExtractor(_Extractor):
    """``procedure``: the catalogue procedure a message speaks of, value = its code.

    The span runs from the first to the last content token (question words and codes left out);
    the entity carries the search score as confidence and the runner-up candidates.
    """

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "min_score": 0.35,
            "candidates": 3,
            # Intents that never name a procedure: a search there only invents one.
            "skip_intents": ["greet", "goodbye", "thank", "affirm", "deny", "lookup_dossier",
                             "request_human", "ask_contact", "out_of_scope", "rate_service", "confirm_phone"],
            # ... unless the classifier is unsure of one and a procedure's name fits the words this well:
            # "xác nhận cư trú" read as "yes" (0.46) is the procedure Xác nhận thông tin về cư trú (0.86).
            "unsure_below": 0.6,
            "named_score": 0.8,
        }

    def __init__(self, config: Dict[Text, Any], search=None) -> None:
        super().__init__(config)
        self._search = search

    @classmethod
    def create(cls, config, model_storage, resource, execution_context: ExecutionContext) -> "ProcedureExtractor":
        extractor = cls(config)
        # Build the index while the server starts, not on the first citizen's message.
        threading.Thread(target=extractor._warm_up, name="procedure-index", daemon=True).start()
        return extractor

    def _warm_up(self) -> None:
        try:
            self.search.index()
        except Exception:  # no database yet (e.g. while training): the first message will retry
            logger.warning("procedure index not built at start-up", exc_info=True)

    @property
    def search(self):
        if self._search is None:
            from knowledge_base.catalogue import shared_search

            self._search = shared_search()
        return self._search

    @staticmethod
    def content_tokens(message: Message) -> list:
        """The tokens that may name a procedure: not question words, not codes or numbers."""
        from nlu.cues import is_cue

        return [t for t in message.get(TOKENS_NAMES[TEXT], []) if t.lemma not in PLACEHOLDERS.values() and not is_cue(t.lemma)]

    def find(self, message: Message) -> list[dict]:
        intent = message.get("intent") or {}
        skipped = intent.get("name") in self._config["skip_intents"]
        if skipped and (intent.get("confidence") or 0.0) >= self._config["unsure_below"]:
            return []
        # A dossier code or a ticket number says what the message is about; a procedure guessed from the
        # words around it ("… đến đâu rồi") would only stop the rules that answer for that code from matching.
        if any(found.get("entity") in CODE_ENTITIES for found in message.get(ENTITIES, [])):
            return []
        content = self.content_tokens(message)
        if not content:
            return []
        text = message.get(TEXT)
        span = content[0].start, content[-1].end
        try:
            hits = self.search.search(" ".join(t.text for t in content), top=max(1, self._config["candidates"]))
        except Exception:  # the knowledge base being down must not break understanding
            logger.exception("procedure search failed")
            return []
        if not hits or hits[0].score < self._config["named_score" if skipped else "min_score"]:
            return []
        best = hits[0]
        if skipped:
            _promote(message, MENTION, round(best.score, 4))
        candidates = [{"code": h.code, "name": h.name, "score": round(h.score, 4)} for h in hits]
        return [entity("procedure", span[0], span[1], text, best.code, round(best.score, 4), candidates=candidates, name=best.name)]


def _promote(message: Message, intent: str, confidence: float) -> None:
    """Make ``intent`` the message's, ahead of the classifier's guesses (the fallback reads the ranking too)."""
    promoted = {"name": intent, "confidence": confidence}
    ranking = [guess for guess in message.get(INTENT_RANKING_KEY) or [] if guess.get("name") != intent]
    message.set(INTENT, promoted, add_to_output=True)
    message.set(INTENT_RANKING_KEY, [promoted, *ranking], add_to_output=True)
