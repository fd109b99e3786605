"""BM25 weights as a sparse document × term matrix, so a query is a sum of a few columns."""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from scipy import sparse

K1 = 1.2
B = 0.75


def idf(document_frequency: int, documents: int) -> float:
    """BM25's inverse document frequency, kept positive for very common terms."""
    return math.log(1.0 + (documents - document_frequency + 0.5) / (document_frequency + 0.5))


def bm25_matrix(tf: sparse.csr_matrix) -> sparse.csr_matrix:
    """BM25 weight of every term of every document, from their term frequencies."""
    tf = sparse.csr_matrix(tf, dtype=np.float64)
    documents = tf.shape[0]
    lengths = np.asarray(tf.sum(axis=1)).ravel()
    average = float(lengths.mean()) if documents and lengths.sum() else 1.0
    frequency = np.bincount(tf.indices, minlength=tf.shape[1]).astype(np.float64)
    weights = np.log1p((documents - frequency + 0.5) / (frequency + 0.5))  # idf(), vectorised
    rows = np.repeat(np.arange(documents), np.diff(tf.indptr))
    norm = K1 * (1.0 - B + B * lengths[rows] / average)
    values = weights[tf.indices] * tf.data * (K1 + 1.0) / (tf.data + norm)
    return sparse.csr_matrix((values.astype(np.float32), tf.indices.copy(), tf.indptr.copy()), shape=tf.shape)


def column_sums(matrix: sparse.csc_matrix, columns: Sequence[int], weights: Sequence[float]) -> np.ndarray:
    """Weighted sum of some columns: every document's score for a query of those terms."""
    scores = np.zeros(matrix.shape[0], dtype=np.float32)
    for column, weight in zip(columns, weights):
        start, end = matrix.indptr[column], matrix.indptr[column + 1]
        scores[matrix.indices[start:end]] += weight * matrix.data[start:end]
    return scores
