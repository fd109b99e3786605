"""Word segmentation: which neighbouring syllables form one word ("giấy tờ", "hộ chiếu").

underthesea segments accented text well and diacritic-free text badly ("le | phi_cap | ho"),
so beside it there is a dictionary of compounds, learned by running underthesea over accented
text and keyed by folded syllables, which segments both spellings alike.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from knowledge_base.textfold import fold

MAX_WORD = 4  # syllables; longer underthesea "words" are names, not vocabulary


def underthesea_sizes(words: Sequence[str]) -> list[int]:
    """How many syllables each underthesea word spans; one a word when it cannot be aligned."""
    if not words:
        return []
    from underthesea import word_tokenize

    sizes = [len(word.split()) for word in word_tokenize(" ".join(words))]
    return sizes if sum(sizes) == len(words) else [1] * len(words)


@dataclass
class CompoundDictionary:
    """Folded multi-syllable words; greedy longest match segments accented and bare text alike."""

    compounds: set[tuple[str, ...]] = field(default_factory=set)

    @classmethod
    def learn(cls, sentences: Iterable[Sequence[str]], min_share: float = 0.5, min_count: int = 2) -> "CompoundDictionary":
        """Compounds underthesea finds in accented ``sentences`` (lists of normalised syllables),
        kept when it groups those syllables in at least ``min_share`` of the places they occur:
        one odd grouping ("cần giấy") must not outvote the usual one ("giấy tờ"); and seen at
        least ``min_count`` times."""
        grouped: Counter[tuple[str, ...]] = Counter()
        accented = [list(words) for words in sentences if any(word != fold(word) for word in words)]
        for words in accented:  # bare text: underthesea's segmentation of it is noise
            position = 0
            for size in underthesea_sizes(words):
                if 1 < size <= MAX_WORD:
                    grouped[tuple(fold(w) for w in words[position : position + size])] += 1
                position += size
        seen: Counter[tuple[str, ...]] = Counter()
        for words in accented:
            folded = [fold(w) for w in words]
            for size in range(2, MAX_WORD + 1):
                for start in range(len(folded) - size + 1):
                    key = tuple(folded[start : start + size])
                    if key in grouped:
                        seen[key] += 1
        return cls({key for key, count in grouped.items() if count >= max(min_count, min_share * seen[key])})

    def sizes(self, words: Sequence[str]) -> list[int]:
        folded = [fold(word) for word in words]
        sizes = []
        position = 0
        while position < len(words):
            size = 1
            for candidate in range(min(MAX_WORD, len(words) - position), 1, -1):
                if tuple(folded[position : position + candidate]) in self.compounds:
                    size = candidate
                    break
            sizes.append(size)
            position += size
        return sizes

    def to_list(self) -> list[str]:
        return sorted(" ".join(c) for c in self.compounds)

    @classmethod
    def from_list(cls, items: Iterable[str]) -> "CompoundDictionary":
        return cls({tuple(item.split()) for item in items})
