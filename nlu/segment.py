"""Word segmentation: which neighbouring syllables form one word ("giấy tờ", "hộ chiếu").

underthesea segments accented text well and diacritic-free text badly ("le | phi_cap | ho"),
so beside it there is a dictionary of compounds, learned by running underthesea over accented
text and keyed by folded syllables, which segments both spellings alike.
"""
from __future__ import annotations

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
    def learn(cls, sentences: Iterable[Sequence[str]]) -> "CompoundDictionary":
        """Compounds underthesea finds in accented ``sentences`` (lists of normalised syllables)."""
        compounds: set[tuple[str, ...]] = set()
        for words in sentences:
            if all(word == fold(word) for word in words):
                continue  # bare text: underthesea's segmentation of it is noise
            position = 0
            for size in underthesea_sizes(words):
                if 1 < size <= MAX_WORD:
                    compounds.add(tuple(fold(w) for w in words[position : position + size]))
                position += size
        return cls(compounds)

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
