"""Example questions linked to procedures: a new question's nearest examples vote for theirs."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
from scipy import sparse


@dataclass(frozen=True)
class ExampleVotes:
    """Example questions as unit TF-IDF vectors; the nearest ones to a question vote for their procedure."""

    matrix: sparse.csr_matrix  # examples × terms
    codes: tuple[str, ...]
    vocabulary: dict[str, int]
    weights: np.ndarray  # per term

    @classmethod
    def build(cls, examples: Sequence[tuple[list[str], str]], name_weights: dict[str, float]) -> "ExampleVotes":
        """From (terms, procedure code) pairs.

        A term that names use weighs its IDF among names, not among the examples: the shared
        wording of an FAQ batch ("Kính gửi Cục ..., đề nghị cho biết") then cannot make
        unrelated questions look alike. Words no name uses ("tiền án") still count, by their
        IDF among the examples, so examples can teach the words citizens use.
        """
        kept = [(terms, code) for terms, code in examples if terms]
        frequency = Counter(term for terms, _ in kept for term in set(terms))
        weight = {term: np.log((1 + len(kept)) / (1 + count)) + 1.0 for term, count in frequency.items()}
        weight.update({term: name_weights[term] for term in frequency if term in name_weights})
        vocabulary = {term: column for column, term in enumerate(frequency)}
        rows, cols, values = [], [], []
        for row, (terms, _) in enumerate(kept):
            for term, count in Counter(terms).items():
                rows.append(row)
                cols.append(vocabulary[term])
                values.append((1.0 + np.log(count)) * weight[term])
        matrix = sparse.csr_matrix((values, (rows, cols)), shape=(len(kept), len(vocabulary)))
        weights = np.array([weight[term] for term in vocabulary])
        return cls(_unit_rows(matrix), tuple(code for _, code in kept), vocabulary, weights)

    def __len__(self) -> int:
        return len(self.codes)

    def vote(self, terms: Iterable[str], neighbours: int) -> dict[str, float]:
        """Each procedure's best cosine among the ``neighbours`` examples nearest to ``terms``."""
        counts = Counter(term for term in terms if term in self.vocabulary)
        if not counts or not self.codes:
            return {}
        query = np.zeros(len(self.vocabulary))
        columns = [self.vocabulary[term] for term in counts]
        for column, count in zip(columns, counts.values()):
            query[column] = (1.0 + np.log(count)) * self.weights[column]
        values = query[columns]
        # The norm from the few non-zero values: over the whole vocabulary (> 10,000 terms) OpenBLAS
        # splits the dot product across threads, which then spin on every core for each question.
        similarity = self.matrix @ (query / np.sqrt(values @ values))
        nearest = np.argsort(-similarity)[:neighbours]
        best: dict[str, float] = {}
        for row in nearest:
            if similarity[row] > 0:
                code = self.codes[row]
                best[code] = max(best.get(code, 0.0), min(float(similarity[row]), 1.0))
        return best


def _unit_rows(matrix: sparse.csr_matrix) -> sparse.csr_matrix:
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sparse.csr_matrix(sparse.diags(1.0 / norms) @ matrix)
