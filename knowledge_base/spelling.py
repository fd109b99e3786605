"""Typo repair for query syllables against the words the catalogue actually uses."""
from __future__ import annotations

import importlib.util
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rapidfuzz import process
from rapidfuzz.distance import OSA

from knowledge_base.textfold import fold, syllables


@lru_cache(maxsize=1)
def dictionary_syllables() -> frozenset[str]:
    """Folded syllables of underthesea's Vietnamese word list (Viet74K), empty where it is absent.

    Read from the package's data file: importing underthesea itself would load models.
    """
    spec = importlib.util.find_spec("underthesea")
    if spec is None or not spec.submodule_search_locations:
        return frozenset()
    path = Path(list(spec.submodule_search_locations)[0]) / "corpus" / "data" / "Viet74K.txt"
    if not path.is_file():
        return frozenset()
    with path.open(encoding="utf-8") as handle:
        return frozenset(fold(word) for line in handle for word in syllables(line))


@dataclass(frozen=True)
class Speller:
    """Catalogue words with their frequency, the pairs they form, and the language's other words."""

    counts: dict[str, int]
    words: tuple[str, ...]
    pairs: frozenset[tuple[str, str]]  # folded neighbouring syllables seen in the catalogue
    language: frozenset[str]  # folded syllables of Vietnamese at large

    @classmethod
    def build(cls, counts: Counter[str], pairs: frozenset[tuple[str, str]], language: frozenset[str] | None = None):
        return cls(dict(counts), tuple(counts), pairs, dictionary_syllables() if language is None else language)

    def known(self, word: str) -> bool:
        return word in self.counts

    def correct(self, word: str, before: str | None = None, after: str | None = None) -> str | None:
        """The likeliest catalogue word one edit away (two for long words), or None to keep ``word``.

        A real Vietnamese word the catalogue does not use ("hải", "mua") is only changed when
        the change makes a pair the catalogue uses ("khia sinh" → "khai sinh"): otherwise a
        citizen's own words would turn into catalogue words they never meant.
        """
        if self.known(word) or len(word) < 3 or not word.isalpha() or not word.isascii():
            return None
        # Vietnamese syllables are short: two edits on a four-letter word reach almost anything.
        limit = 2 if len(word) >= 6 else 1
        found = process.extract(word, self.words, scorer=OSA.distance, score_cutoff=limit, limit=None)
        if word in self.language:
            found = [item for item in found if (before, item[0]) in self.pairs or (item[0], after) in self.pairs]
        if not found:
            return None
        return min(found, key=lambda item: (item[1], -self.counts[item[0]]))[0]
