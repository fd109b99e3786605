"""Is this the same question as a published FAQ entry? Matching over questions and variants.

A question and an FAQ text are compared as sets of diacritic-folded syllables, each weighted by
its BM25 IDF over all FAQ texts (weighted Dice). Rare words ("hộ chiếu", "giờ") decide, common
ones ("làm", "có") barely count, and a word the FAQ never uses counts fully against the match,
so "lệ phí làm hộ chiếu" is not "lệ phí đổi bằng lái". Filler the FAQ never uses ("ạ", "vậy")
is ignored, and a typo snaps to a close FAQ word.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np
from rapidfuzz import fuzz, process
from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge_base.bm25 import idf
from knowledge_base.lexicon import Lexicon, load_lexicon
from knowledge_base.models import FaqEntry
from knowledge_base.textfold import fold, syllables

SAME_QUESTION = 0.8  # weighted Dice; measured: paraphrases score ≥ 0.84, other questions ≤ 0.77
# Worth offering as "did you mean": measured on the demo FAQ, 0.55–0.8 was the entry meant ("toi muon nop ho so
# online" 0.69, "ket qua nhan qua buu dien" 0.79), below it often not ("bao mat thong tin" 0.54: giấy thông hành).
LIKELY_QUESTION = 0.55
# Far above the rounding error of the vectorised scores (sums of a few dozen IDFs, ~1e-15), far below
# any real difference between two texts' scores: every text this close to the best is scored exactly.
NEAR_BEST = 1e-9
TYPO_LIKENESS = 85  # rapidfuzz ratio for a misspelt word to count as an FAQ word


@dataclass(frozen=True)
class FaqItem:
    """A published entry as the bot uses it."""

    id: int
    question: str
    answer: str
    variants: tuple[str, ...] = ()
    procedure_codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class FaqMatch:
    item: FaqItem
    score: float  # in [0, 1]
    matched: str  # the question or variant it matched

    @property
    def sure(self) -> bool:
        """The same question: answered as it is."""
        return self.score >= SAME_QUESTION

    @property
    def likely(self) -> bool:
        """Likely, not surely, the question meant: worth offering as "did you mean"."""
        return LIKELY_QUESTION <= self.score < SAME_QUESTION


@dataclass
class FaqIndex:
    items: list[FaqItem]
    texts: list[tuple[int, str, frozenset[str]]]  # (item position, text, folded words)
    weights: dict[str, float]  # folded word → IDF
    unknown: float  # weight of a word no FAQ text uses
    lexicon: Lexicon
    postings: dict[str, np.ndarray] = field(init=False, repr=False)  # folded word → positions in ``texts``
    masses: np.ndarray = field(init=False, repr=False)  # each text's weight, in ``texts`` order

    def __post_init__(self) -> None:
        positions: dict[str, list[int]] = {}
        for position, (_, _, words) in enumerate(self.texts):
            for word in words:
                positions.setdefault(word, []).append(position)
        self.postings = {word: np.array(found, dtype=np.intp) for word, found in positions.items()}
        self.masses = np.array([self._mass(words) for _, _, words in self.texts], dtype=np.float64)

    @classmethod
    def build(cls, items: Iterable[FaqItem], lexicon: Lexicon | None = None) -> "FaqIndex":
        items = list(items)
        texts = [
            (position, text, frozenset(fold(word) for word in syllables(text)))
            for position, item in enumerate(items)
            for text in dict.fromkeys([item.question, *item.variants])
            if text and text.strip()
        ]
        frequency = Counter(word for _, _, words in texts for word in words)
        weights = {word: idf(count, len(texts)) for word, count in frequency.items()}
        return cls(items, texts, weights, idf(0, len(texts)), lexicon or load_lexicon())

    def words(self, text: str) -> frozenset[str]:
        """The question's folded words as the index knows them: typos snapped, unused filler dropped."""
        found = set()
        for word in (fold(w) for w in syllables(text)):
            if word in self.weights:
                found.add(word)
            elif self.lexicon.is_filler(word):
                continue
            else:
                near = process.extractOne(word, self.weights.keys(), scorer=fuzz.ratio, score_cutoff=TYPO_LIKENESS) if len(word) >= 4 else None
                found.add(near[0] if near else word)
        return frozenset(found)

    def _mass(self, words: Iterable[str]) -> float:
        return sum(self.weights.get(word, self.unknown) for word in words)

    def best(self, text: str) -> FaqMatch | None:
        """The most similar published question, whatever its score; None for an empty index or text.

        Only texts sharing a word with the question can score. All are scored at once from the word
        postings; the few within rounding of the best are then scored one by one, first text first,
        so the answer is exactly that of comparing the question with every text in order."""
        if not isinstance(text, str) or not self.texts:
            return None
        said = self.words(text)
        if not said:
            return None
        said_mass = self._mass(said)
        found = [(self.postings[word], self.weights[word]) for word in said if word in self.postings]
        if not found:
            return None
        shared = np.bincount(np.concatenate([positions for positions, _ in found]),
                             weights=np.concatenate([np.full(len(positions), weight) for positions, weight in found]),
                             minlength=len(self.texts))
        scores = 2.0 * shared / (said_mass + self.masses)
        best: tuple[float, int, str] | None = None
        for position in np.flatnonzero(scores >= scores.max() - NEAR_BEST):
            _, faq_text, words = self.texts[position]
            exact = self._mass(said & words)
            if not exact:
                continue
            score = 2.0 * exact / (said_mass + self._mass(words))
            if best is None or score > best[0]:
                best = (score, int(position), faq_text)
        if best is None:
            return None
        return FaqMatch(self.items[self.texts[best[1]][0]], round(best[0], 4), best[2])

    def match(self, text: str, threshold: float = SAME_QUESTION) -> FaqMatch | None:
        """The published entry asking the same question as ``text``, or None."""
        found = self.best(text)
        return found if found and found.score >= threshold else None


def _item(entry: FaqEntry) -> FaqItem:
    return FaqItem(entry.id, entry.question, entry.answer, tuple(entry.variants or ()), tuple(entry.procedure_codes or ()))


def published(session: Session) -> list[FaqItem]:
    entries = session.scalars(select(FaqEntry).where(FaqEntry.status == "published").order_by(FaqEntry.id))
    return [_item(entry) for entry in entries]


class FaqService:
    """The FAQ index over the database, rebuilt in the background when the FAQ changes."""

    def __init__(self, sessions: Callable[[], Session], interval: float | None = None) -> None:
        from knowledge_base.revisions import FAQ, Watched

        self._sessions = sessions
        self._live = Watched(sessions, (FAQ,), self._build, interval)

    def _build(self) -> FaqIndex:
        with self._sessions() as session:
            return FaqIndex.build(published(session))

    def index(self) -> FaqIndex:
        return self._live.get()

    def refresh(self) -> None:
        self._live.refresh()

    def match(self, text: str) -> FaqMatch | None:
        return self.index().match(text)

    def nearest(self, text: str) -> FaqMatch | None:
        """The most similar published entry, whatever its score (see FaqMatch.sure and .likely)."""
        return self.index().best(text)

    def get(self, faq_id: int) -> FaqItem | None:
        """A published entry by id, read fresh (it may have been unpublished since)."""
        with self._sessions() as session:
            entry = session.get(FaqEntry, faq_id)
            return _item(entry) if entry is not None and entry.status == "published" else None


_shared: dict[str, FaqService] = {}


def shared_faq() -> FaqService:
    """The process's FAQ service over the configured database."""
    from bot.settings import get_settings
    from knowledge_base.db import session_factory

    url = get_settings().resolved_database_url
    if url not in _shared:
        _shared[url] = FaqService(session_factory(url))
    return _shared[url]
