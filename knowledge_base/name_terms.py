"""The folded terms of every procedure name, as arrays, to measure coverage fast."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from knowledge_base.bm25 import idf


@dataclass(frozen=True)
class Coverage:
    """Per candidate: IDF mass of the name, of its terms the question says, and the same locally."""

    name_mass: np.ndarray
    shared: np.ndarray
    local_mass: np.ndarray
    local_shared: np.ndarray


@dataclass(frozen=True)
class NameTerms:
    """Term ids of each name (name and aliases together) and each term's IDF among names."""

    index: dict[str, int]
    idf: np.ndarray
    ids: list[np.ndarray]  # per procedure
    sets: list[frozenset[str]]  # per procedure, for set arithmetic between two names

    @classmethod
    def build(cls, names: Sequence[Iterable[str]]) -> "NameTerms":
        sets = [frozenset(terms) for terms in names]
        frequency = Counter(term for terms in sets for term in terms)
        index = {term: position for position, term in enumerate(frequency)}
        weights = np.array([idf(count, len(sets)) for count in frequency.values()], dtype=np.float64)
        ids = [np.fromiter((index[term] for term in terms), dtype=np.int64, count=len(terms)) for terms in sets]
        return cls(index, weights, ids, sets)

    def weight(self, terms: Iterable[str]) -> float:
        """Summed IDF of the terms that occur in some name."""
        return float(sum(self.idf[self.index[term]] for term in terms if term in self.index))

    def coverage(self, candidates: Sequence[int], said: Iterable[str]) -> Coverage:
        """How much of each candidate's name the question says, plainly and with local weights.

        Local weights multiply IDF by the term's rarity among these candidates, so the words
        that tell this list's names apart ("lại", "gia hạn", "cấp xã") count most.
        """
        spans = [self.ids[index] for index in candidates]
        lengths = np.array([len(span) for span in spans])
        every = np.concatenate(spans) if spans else np.zeros(0, dtype=np.int64)
        owner = np.repeat(np.arange(len(spans)), lengths)
        present = np.zeros(len(self.idf), dtype=bool)
        present[[self.index[term] for term in said if term in self.index]] = True
        unique, counts = np.unique(every, return_counts=True)
        rarity = np.zeros(len(self.idf))
        rarity[unique] = np.log((1 + len(spans)) / counts)
        plain = self.idf[every]
        local = plain * rarity[every]
        hit = present[every]

        def per_candidate(values: np.ndarray) -> np.ndarray:
            return np.bincount(owner, weights=values, minlength=len(spans))

        return Coverage(
            per_candidate(plain), per_candidate(plain * hit), per_candidate(local), per_candidate(local * hit)
        )
