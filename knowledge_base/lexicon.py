"""Abbreviations, colloquial names and question filler words, read from ``lexicon.yaml``."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import yaml

from knowledge_base.textfold import canonical, fold, has_diacritics, syllables

LEXICON_PATH = Path(__file__).with_name("lexicon.yaml")


@dataclass(frozen=True)
class Phrase:
    """One way of saying something, as canonical syllables, and what it stands for."""

    words: tuple[str, ...]  # canonical() of each syllable
    means: tuple[str, ...]  # syllables of the official wording


@dataclass(frozen=True)
class Lexicon:
    phrases: dict[tuple[str, ...], tuple[Phrase, ...]]  # keyed by folded syllables
    filler: frozenset[str]  # canonical forms
    filler_folded: frozenset[str]
    longest: int
    starts: frozenset[str]  # folded first words of every phrase, to skip the rest quickly
    words: frozenset[str]  # every syllable the file uses, as written (lower case)

    def expand(self, words: Sequence[str]) -> list[tuple[str, ...]]:
        """The official wording of the phrases said in ``words`` (lower-cased syllables).

        Longest match first, left to right: "sang tên sổ đỏ" is a transfer, not also a first title.
        """
        folded = [fold(word) for word in words]
        found: list[tuple[str, ...]] = []
        start = 0
        while start < len(words):
            size = self._longest_match(words, folded, start, found) if folded[start] in self.starts else 0
            start += size or 1
        return found

    def _longest_match(self, words: Sequence[str], folded: list[str], start: int, found: list) -> int:
        """Length of the longest phrase said at ``start`` (its wording added to ``found``), or 0."""
        for size in range(min(self.longest, len(words) - start), 0, -1):
            said = [
                phrase.means
                for phrase in self.phrases.get(tuple(folded[start : start + size]), ())
                if _same_words(words[start : start + size], phrase.words)
            ]
            if said:
                found.extend(means for means in said if means not in found)
                return size
        return 0

    def is_filler(self, word: str) -> bool:
        """Whether ``word`` only shapes the question; a bare word matches by its folded form."""
        if has_diacritics(word):
            return canonical(word) in self.filler
        return word in self.filler_folded


def _same_words(typed: Sequence[str], said: tuple[str, ...]) -> bool:
    """Syllables typed with marks must carry the same ones; bare ones match by folding alone."""
    return all(not has_diacritics(word) or canonical(word) == want for word, want in zip(typed, said))


def parse_lexicon(data: dict) -> Lexicon:
    """A Lexicon from the YAML structure (``expansions`` of say/means, ``filler``)."""
    phrases: dict[tuple[str, ...], list[Phrase]] = {}
    for entry in data.get("expansions") or []:
        means = tuple(syllables(str(entry["means"])))
        for said in entry.get("say") or []:
            words = syllables(str(said))
            if not words or not means:
                continue
            key = tuple(fold(word) for word in words)
            phrases.setdefault(key, []).append(Phrase(tuple(canonical(word) for word in words), means))
    filler = [word for item in data.get("filler") or [] for word in syllables(str(item))]
    written = set(filler)
    for entry in data.get("expansions") or []:
        written.update(syllables(str(entry["means"])))
        written.update(word for said in entry.get("say") or [] for word in syllables(str(said)))
    return Lexicon(
        phrases={key: tuple(value) for key, value in phrases.items()},
        filler=frozenset(canonical(word) for word in filler),
        filler_folded=frozenset(fold(word) for word in filler),
        longest=max((len(key) for key in phrases), default=0),
        starts=frozenset(key[0] for key in phrases),
        words=frozenset(written),
    )


@lru_cache(maxsize=4)
def load_lexicon(path: Path = LEXICON_PATH) -> Lexicon:
    """The lexicon in ``path`` (the shipped ``lexicon.yaml`` by default)."""
    with path.open(encoding="utf-8") as handle:
        return parse_lexicon(yaml.safe_load(handle) or {})
