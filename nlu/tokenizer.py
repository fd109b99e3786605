"""VietnameseTokenizer: syllables of the typed text grouped into words, each token's lemma the
normalised, diacritic-folded word ("giay_to"), so that features read "giấy tờ" and "giay to" alike.

Tracking codes, ticket numbers and phone numbers stay one token each, with a placeholder lemma.
"""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from knowledge_base.textfold import fold, nfc
from knowledge_base.tickets import TICKET_NUMBER
from knowledge_base.tracking_code import find_attempts, find_tracking_codes
from nlu.normalize import Syllable, expand, load_abbreviations, split_syllables
from nlu.phone import LAST4, find_phone_numbers
from nlu.segment import CompoundDictionary, underthesea_sizes

PLACEHOLDERS = {"tracking_code": "__ma_ho_so__", "ticket": "__ma_phan_anh__", "phone": "__so_dien_thoai__", "last4": "__bon_so__"}
SEGMENTERS = ("dictionary", "underthesea", "syllable")


def protected_spans(text: str) -> list[tuple[int, int, str]]:
    """Spans that must stay whole, with their placeholder lemma, in text order."""
    spans = [(c.start, c.end, PLACEHOLDERS["tracking_code"]) for c in find_tracking_codes(text)]
    # A mistyped code still asks about a dossier; its digits must not read as scores or a phone.
    spans += [(start, end, PLACEHOLDERS["tracking_code"]) for start, end in find_attempts(text)]
    spans += [(m.start(), m.end(), PLACEHOLDERS["ticket"]) for m in TICKET_NUMBER.finditer(text)]
    spans += [(p.start, p.end, PLACEHOLDERS["phone"]) for p in find_phone_numbers(text)]
    spans += [(m.start(), m.end(), PLACEHOLDERS["last4"]) for m in LAST4.finditer(text)]
    spans.sort(key=lambda span: (span[0], -span[1]))  # the longest span wins where two start together
    kept: list[tuple[int, int, str]] = []
    for span in spans:
        if not kept or span[0] >= kept[-1][1]:
            kept.append(span)
    return kept


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True)
class VietnameseTokenizer(Tokenizer):
    """Normalise, protect codes, segment words; tokens keep offsets in the original text."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "intent_tokenization_flag": False,
            "intent_split_symbol": "_",
            "token_pattern": None,
            "prefix_separator_symbol": None,
            # dictionary: compounds learned with underthesea on accented training text, applied to
            # accented and bare text alike; underthesea: underthesea on accented text, syllables
            # on bare text; syllable: no grouping.
            "segmenter": "dictionary",
            "fold_diacritics": True,
        }

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        compounds: CompoundDictionary | None = None,
    ) -> None:
        super().__init__(config)
        if config["segmenter"] not in SEGMENTERS:
            raise ValueError(f"segmenter must be one of {SEGMENTERS}, not {config['segmenter']!r}")
        self._storage, self._resource = model_storage, resource
        self.compounds = compounds or CompoundDictionary()
        self.abbreviations = load_abbreviations()
        if config["segmenter"] == "underthesea":
            underthesea_sizes(["khởi", "động"])  # its model loads on first call: pay that at load

    @classmethod
    def create(cls, config, model_storage, resource, execution_context: ExecutionContext) -> "VietnameseTokenizer":
        return cls(config, model_storage, resource)

    @classmethod
    def load(cls, config, model_storage, resource, execution_context: ExecutionContext, **kwargs: Any) -> "VietnameseTokenizer":
        compounds = CompoundDictionary()
        try:
            with model_storage.read_from(resource) as directory:
                compounds = CompoundDictionary.from_list((directory / "compounds.txt").read_text(encoding="utf-8").split("\n"))
        except (ValueError, FileNotFoundError):
            pass  # a model trained with another segmenter has no dictionary
        return cls(config, model_storage, resource, compounds)

    def train(self, training_data: TrainingData) -> Resource:
        sentences = [self.words(nfc(m.get(TEXT))) for m in training_data.training_examples if m.get(TEXT)]
        self.compounds = CompoundDictionary.learn([[s.text for s in run] for runs in sentences for run in runs])
        with self._storage.write_to(self._resource) as directory:
            (directory / "compounds.txt").write_text("\n".join(self.compounds.to_list()), encoding="utf-8")
        return self._resource

    def words(self, text: str) -> list[list[Syllable]]:
        """Normalised syllables of each stretch of ``text`` between protected spans."""
        runs, position = [], 0
        for start, end, _ in protected_spans(text):
            runs.append(expand(split_syllables(text, position, start), self.abbreviations))
            position = end
        runs.append(expand(split_syllables(text, position), self.abbreviations))
        return runs

    def _sizes(self, words: list[str]) -> list[int]:
        mode = self._config["segmenter"]
        if mode == "dictionary":
            return self.compounds.sizes(words)
        if mode == "underthesea" and any(w != fold(w) for w in words):
            return underthesea_sizes(words)
        return [1] * len(words)

    def _tokens(self, text: str, run: list[Syllable]) -> list[Token]:
        tokens, position = [], 0
        for size in self._sizes([s.text for s in run]):
            group = run[position : position + size]
            position += size
            start, end = group[0].start, group[-1].end
            lemma = "_".join(fold(s.text) if self._config["fold_diacritics"] else s.text for s in group)
            if tokens and tokens[-1].start == start and tokens[-1].end == end:
                tokens[-1].lemma += "_" + lemma  # an abbreviation's words share its span: one token
                continue
            tokens.append(Token(text[start:end], start, end, lemma=lemma))
        return tokens

    def tokenize(self, message: Message, attribute: Text) -> List[Token]:
        text = nfc(message.get(attribute) or "")
        protected = {start: (end, lemma) for start, end, lemma in protected_spans(text)}
        tokens: list[Token] = []
        for run in self.words(text):
            tokens.extend(self._tokens(text, run))
        tokens.extend(Token(text[start:end], start, end, lemma=lemma) for start, (end, lemma) in protected.items())
        tokens.sort(key=lambda t: t.start)
        if not tokens:
            tokens = [Token(text, 0, lemma=text or "__rong__")]
        return self._apply_token_pattern(tokens)
