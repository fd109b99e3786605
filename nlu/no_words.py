"""NoWordsFallback: a message without one Vietnamese word, code or number is not understood,
whatever the classifier guessed ("zzqx vbnm" must not read as "yes")."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from knowledge_base.spelling import dictionary_syllables
from nlu.tokenizer import PLACEHOLDERS

FALLBACK = "nlu_fallback"


def is_word(lemma: str) -> bool:
    """A placeholder, a number, or a lemma with at least one syllable of the Vietnamese word list."""
    if lemma in PLACEHOLDERS.values() or lemma.isdigit():
        return True
    return any(part in dictionary_syllables() for part in lemma.split("_"))


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class NoWordsFallback(GraphComponent):
    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "NoWordsFallback":
        dictionary_syllables()  # read the word list at start-up, not on the first message
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            tokens = message.get(TOKENS_NAMES[TEXT]) or []
            if tokens and not any(is_word(token.lemma) for token in tokens):
                ranking = message.get(INTENT_RANKING_KEY) or []
                message.set(INTENT, {"name": FALLBACK, "confidence": 1.0}, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [{"name": FALLBACK, "confidence": 1.0}, *ranking], add_to_output=True)
        return messages
