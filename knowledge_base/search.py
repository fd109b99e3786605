"""Find the procedure a citizen means from free text.

Recall is BM25 over syllables, pairs and triples of the procedure's name, field, result,
documents, agency and legal basis, each both diacritic-folded and (where the writer typed marks)
accented, so "cap lai cccd" and "cấp lại CCCD" reach the same procedures while marks, when
present, still tell "sổ" from "số". The lexicon adds the official wording of abbreviations and
colloquial names; unknown syllables snap to the nearest catalogue word. The leaders are then
scored in [0, 1] from how much of the question the name covers, how the name stands out among
the leaders, relative BM25, and the vote of similar example questions (passed on, in part, to a near-namesake
of the voted procedure whose own words the question says); near-namesakes
("Cấp" / "Cấp lại" / "Gia hạn" the same licence) are then settled by the words that differ.
Last, scores shrink by the share of the question's words the index has never seen, so a
question about something the catalogue lacks does not look like a confident match.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable

import numpy as np
from rapidfuzz import fuzz
from scipy import sparse

from knowledge_base.bm25 import bm25_matrix, column_sums
from knowledge_base.lexicon import Lexicon, load_lexicon
from knowledge_base.name_terms import NameTerms
from knowledge_base.neighbours import ExampleVotes
from knowledge_base.records import ProcedureRecord
from knowledge_base.spelling import Speller
from knowledge_base.terms import FOLDED, folded_only, record_fields, text_terms
from knowledge_base.textfold import canonical, fold, has_diacritics, syllables

MAX_WORDS = 200  # a pasted letter says nothing more after this, and costs time


@dataclass(frozen=True)
class Hit:
    code: str
    name: str
    score: float  # in [0, 1], higher is better


@dataclass(frozen=True)
class Signals:
    """Evidence, each in [0, 1], that a candidate is the procedure a question means."""

    name_coverage: float  # share of the name's weight the question says
    query_coverage: float  # share of the question's catalogue words the name says
    fuzzy: float  # character-level likeness of question and name, forgiving typos
    recall: float  # BM25 over all fields, relative to the best candidate
    vote: float  # cosine to the nearest example question of this procedure
    local_name: float  # name coverage, words weighted by how they set this candidate apart


@dataclass(frozen=True)
class Weights:
    """How much each field counts in recall and each signal in the score (tuned by 5-fold CV)."""

    fields: dict[str, float] = field(
        default_factory=lambda: {
            "title": 1.0,
            "field": 0.25,
            "result": 0.3,
            "documents": 0.1,
            "agency": 0.1,
            "subjects": 0.1,
            "legal": 0.1,
        }
    )
    name_coverage: float = 0.0
    query_coverage: float = 0.46
    fuzzy: float = 0.0
    recall: float = 0.31
    local_name: float = 0.23
    vote: float = 0.5  # share of the gap to 1 a perfect example vote closes
    vote_passing: float = 0.8  # share of an example's vote a near-namesake the question names better inherits
    contrast: float = 0.05  # how far the differing words of near-namesakes move a score
    contrast_overlap: float = 0.6  # names sharing this share of their terms are near-namesakes
    contrast_scale: float = 5.0  # IDF mass of differing words that settles a pair
    contrast_leaders: int = 10
    candidates: int = 40  # how many BM25 leaders are scored
    neighbours: int = 10  # how many similar example questions vote

    def score(self, signals: Signals) -> float:
        """Weighted lexical evidence, then pulled towards 1 by the example vote; stays in [0, 1]."""
        lexical = (
            self.name_coverage * signals.name_coverage
            + self.query_coverage * signals.query_coverage
            + self.fuzzy * signals.fuzzy
            + self.recall * signals.recall
            + self.local_name * signals.local_name
        )
        lexical = min(max(lexical, 0.0), 1.0)
        # The square root lets a fair likeness to a known question count nearly as much as a close one.
        return lexical + self.vote * float(np.sqrt(signals.vote)) * (1.0 - lexical)


DEFAULT_WEIGHTS = Weights()


@dataclass(frozen=True)
class Query:
    """A question made ready for matching."""

    words: list[str]  # syllables, typos repaired
    terms: list[str]  # unique, in order
    folded: frozenset[str]  # its diacritic-free terms
    text: str  # folded words without filler, for fuzzy comparison


@dataclass
class ProcedureIndex:
    """Search over a catalogue; build once with :meth:`build`, then :meth:`search` per question."""

    codes: list[str]
    names: list[str]
    matrix: sparse.csc_matrix  # procedures × terms, field-weighted BM25
    vocabulary: dict[str, int]
    title_terms: NameTerms  # folded terms of name and aliases
    title_texts: list[list[str]]  # folded name and aliases, for fuzzy matching
    speller: Speller
    accented: frozenset[str]  # canonical forms of every marked syllable the index has seen
    votes: ExampleVotes
    lexicon: Lexicon
    weights: Weights = DEFAULT_WEIGHTS
    positions: dict[str, int] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        procedures: Iterable[ProcedureRecord],
        examples: Iterable[tuple[str, str]] = (),
        *,
        weights: Weights = DEFAULT_WEIGHTS,
        lexicon: Lexicon | None = None,
    ) -> "ProcedureIndex":
        """Index ``procedures``; ``examples`` are (question, procedure code) pairs to learn from."""
        lexicon = lexicon or load_lexicon()
        records = _unique(procedures)
        fields = _field_texts(records, weights.fields, lexicon)
        title_terms = NameTerms.build([folded_only(fields.record_terms("title", i)) for i in range(len(records))])
        labelled = [(syllables(question), code) for question, code in examples if question and code]
        written = Counter(fields.written)
        for words, _ in labelled:
            written.update(words)
        written.update(dict.fromkeys(lexicon.words, 1))
        spoken: Counter[str] = Counter()
        for word, count in written.items():
            spoken[fold(word)] += count
        vocabulary = _vocabulary(fields)
        return cls(
            codes=[record.code for record in records],
            names=[record.name for record in records],
            matrix=_weighted_bm25(fields, weights.fields, vocabulary),
            vocabulary=vocabulary,
            title_terms=title_terms,
            title_texts=[[" ".join(fold(w) for w in syllables(t)) for t in [r.name, *r.aliases]] for r in records],
            speller=Speller.build(spoken, _pairs(vocabulary, labelled)),
            accented=frozenset(canonical(word) for word in written if has_diacritics(word)),
            votes=ExampleVotes.build(
                [(folded_only(text_terms(words, lexicon)), code) for words, code in labelled],
                {term: float(title_terms.idf[column]) for term, column in title_terms.index.items()},
            ),
            lexicon=lexicon,
            weights=weights,
            positions={record.code: index for index, record in enumerate(records)},
        )

    def __len__(self) -> int:
        return len(self.codes)

    def search(self, text: str, top: int = 5) -> list[Hit]:
        """The procedures ``text`` most likely means, best first; empty when nothing matches."""
        if not isinstance(text, str) or top <= 0:
            return []
        query = self.prepare(text)
        known = self._known_share(query.words)
        if not known:
            return []
        scores = {index: self.weights.score(signals) for index, signals in self.signals(query)}
        self._contrast(scores, query.folded)
        # Same order, lower confidence when part of the question is words the index never saw
        # (or, typed with marks, a different word: "trụ" is not "trú").
        scores = {index: score * known for index, score in scores.items()}
        ranked = sorted(scores, key=lambda index: (-scores[index], self.codes[index]))[:top]
        return [Hit(self.codes[i], self.names[i], round(min(max(scores[i], 0.0), 1.0), 4)) for i in ranked]

    def prepare(self, text: str) -> Query:
        """Syllables with typos repaired, and their terms."""
        words = self._repair(syllables(text)[:MAX_WORDS])
        terms = list(dict.fromkeys(text_terms(words, self.lexicon)))
        plain = " ".join(fold(word) for word in words if not self.lexicon.is_filler(word))
        return Query(words, terms, frozenset(folded_only(terms)), plain)

    def signals(self, query: Query) -> list[tuple[int, Signals]]:
        """Every candidate procedure (by position) with the evidence that it is the one meant."""
        columns = [self.vocabulary[term] for term in query.terms if term in self.vocabulary]
        votes = self.votes.vote(query.folded, self.weights.neighbours)
        if not columns and not votes:
            return []
        recall = column_sums(self.matrix, columns, [1.0] * len(columns))
        candidates = set(_leaders(recall, self.weights.candidates))
        candidates.update(self.positions[code] for code in votes if code in self.positions)
        if not candidates:
            return []
        ordered = sorted(candidates)
        votes = self._pass_votes(votes, ordered, query.folded)
        best_recall = max(float(recall[index]) for index in ordered) or 1.0
        known_mass = self.title_terms.weight(query.folded) or 1.0
        cover = self.title_terms.coverage(ordered, query.folded)
        found = []
        for position, index in enumerate(ordered):
            signals = Signals(
                name_coverage=float(cover.shared[position] / (cover.name_mass[position] or 1.0)),
                query_coverage=min(float(cover.shared[position]) / known_mass, 1.0),
                fuzzy=self._likeness(index, query.text) if self.weights.fuzzy else 0.0,
                recall=float(recall[index]) / best_recall,
                vote=votes.get(self.codes[index], 0.0),
                local_name=float(cover.local_shared[position] / (cover.local_mass[position] or 1.0)),
            )
            found.append((index, signals))
        return found

    def _pass_votes(self, votes: dict[str, float], candidates: list[int], said: frozenset[str]) -> dict[str, float]:
        """Votes, each also given (scaled) to the voted procedure's near-namesakes whose own words
        the question says more of than the voted one's.

        An example question tells the family ("Giấy phép vận tải qua biên giới"); the words that
        differ ("cấp lại") tell the member, even one that no example is about yet.
        """
        w = self.weights
        if not w.vote_passing or not votes:
            return votes
        names, weight = self.title_terms.sets, self.title_terms.weight
        voted = [(names[self.positions[code]], vote) for code, vote in votes.items() if code in self.positions]
        passed = dict(votes)
        for index in candidates:
            code, theirs = self.codes[index], names[index]
            if code in votes:
                continue
            for mine, vote in voted:
                shared = len(mine & theirs)  # the union's size from it: one set operation, not two
                if shared < w.contrast_overlap * (len(mine) + len(theirs) - shared):
                    continue
                if weight((theirs - mine) & said) > weight((mine - theirs) & said):
                    passed[code] = max(passed.get(code, 0.0), w.vote_passing * vote)
        return passed

    def _likeness(self, index: int, text: str) -> float:
        """Character-level likeness of the question to the name or an alias, in [0, 1]."""
        return max((fuzz.token_set_ratio(text, title) for title in self.title_texts[index]), default=0.0) / 100.0

    def _contrast(self, scores: dict[int, float], said: frozenset[str]) -> None:
        """Among the leaders, nudge each near-namesake by how many of its own words the question says."""
        w = self.weights
        if not w.contrast:
            return
        leaders = sorted(scores, key=lambda index: -scores[index])[: w.contrast_leaders]
        names, weight = self.title_terms.sets, self.title_terms.weight
        nudges = {}
        for index in leaders:
            mine = names[index]
            margins = []
            for other in leaders:
                theirs = names[other]
                if other == index or len(mine & theirs) < w.contrast_overlap * len(mine | theirs):
                    continue
                # Only words said count: a question paraphrases, so a word left out proves little.
                margin = weight((mine - theirs) & said) - weight((theirs - mine) & said)
                margins.append(np.tanh(margin / w.contrast_scale))
            if margins:
                nudges[index] = w.contrast * float(np.mean(margins))
        for index, nudge in nudges.items():
            scores[index] += nudge

    def _known_share(self, words: list[str]) -> float:
        """Share of the question's meaningful words the index knows, marks and all."""
        meaningful = [word for word in words if not self.lexicon.is_filler(word)]
        if not meaningful and self.lexicon.expand(words):
            return 1.0  # "so do" is two bare fillers (hồ sơ, đó) and also sổ đỏ: the lexicon decides
        known = [
            canonical(word) in self.accented if has_diacritics(word) else self.speller.known(fold(word))
            for word in meaningful
        ]
        return sum(known) / len(known) if known else 0.0

    def _repair(self, words: list[str]) -> list[str]:
        """Each word itself when the catalogue knows it, else its likeliest spelling in context."""
        folded = [fold(word) for word in words]
        repaired = []
        for i, word in enumerate(words):
            before = folded[i - 1] if i else None
            after = folded[i + 1] if i + 1 < len(words) else None
            fixed = None if self.speller.known(folded[i]) else self.speller.correct(folded[i], before, after)
            repaired.append(fixed or word)
        return repaired


def _unique(procedures: Iterable[ProcedureRecord]) -> list[ProcedureRecord]:
    """The first record of each code, in order."""
    seen: dict[str, ProcedureRecord] = {}
    for record in procedures:
        seen.setdefault(record.code, record)
    return list(seen.values())


@dataclass(frozen=True)
class FieldTexts:
    """Which texts each record has in each field, and the terms of every distinct text once."""

    texts: dict[str, list[list[str]]]  # field → per record → texts
    terms: dict[str, Counter[str]]  # text → term counts
    written: Counter[str]  # syllable → in how many distinct texts it occurs

    def record_terms(self, field_name: str, position: int) -> set[str]:
        return {term for text in self.texts[field_name][position] for term in self.terms[text]}


def _field_texts(records: list[ProcedureRecord], fields: Iterable[str], lexicon: Lexicon) -> FieldTexts:
    """The texts of the indexed fields; each distinct text is analysed once (agencies, levels and
    legal bases repeat across procedures)."""
    texts: dict[str, list[list[str]]] = {name: [] for name in fields}
    terms: dict[str, Counter[str]] = {}
    written: Counter[str] = Counter()
    for record in records:
        for name, values in record_fields(record).items():
            if name not in texts:
                continue
            texts[name].append(values)
            for text in values:
                if text not in terms:
                    words = syllables(text)
                    terms[text] = Counter(text_terms(words, lexicon))
                    written.update(set(words))
    return FieldTexts(texts, terms, written)


def _term_frequencies(
    per_record: list[list[str]], terms: dict[str, Counter[str]], vocabulary: dict[str, int]
) -> sparse.csr_matrix:
    """Records × terms counts of one field, built from each distinct text's arrays."""
    arrays: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    rows, cols, counts = [], [], []
    for row, texts in enumerate(per_record):
        for text in texts:
            if text not in arrays:
                counter = terms[text]
                arrays[text] = (
                    np.fromiter((vocabulary[term] for term in counter), dtype=np.int64, count=len(counter)),
                    np.fromiter(counter.values(), dtype=np.float64, count=len(counter)),
                )
            ids, values = arrays[text]
            rows.append(np.full(len(ids), row, dtype=np.int64))
            cols.append(ids)
            counts.append(values)
    if not rows:
        return sparse.csr_matrix((len(per_record), len(vocabulary)))
    shape = (len(per_record), len(vocabulary))
    # Repeated (row, column) pairs, a term in two texts of one record, add up on conversion.
    entries = (np.concatenate(counts), (np.concatenate(rows), np.concatenate(cols)))
    return sparse.coo_matrix(entries, shape=shape).tocsr()


def _pairs(vocabulary: dict[str, int], labelled: list[tuple[list[str], str]]) -> frozenset[tuple[str, str]]:
    """Neighbouring folded syllables of the catalogue and the examples: context for typo repair."""
    pairs = {
        tuple(term[len(FOLDED) :].split(" ")) for term in vocabulary if term.startswith(FOLDED) and term.count(" ") == 1
    }
    for words, _ in labelled:
        folded = [fold(word) for word in words]
        pairs.update(zip(folded, folded[1:]))
    return frozenset(pairs)  # type: ignore[arg-type]


def _vocabulary(fields: FieldTexts) -> dict[str, int]:
    """A column for every term of every indexed text, in a stable order."""
    terms: dict[str, None] = {}
    for counter in fields.terms.values():
        terms.update(dict.fromkeys(counter))
    return {term: column for column, term in enumerate(terms)}


def _weighted_bm25(fields: FieldTexts, weights: dict[str, float], vocabulary: dict[str, int]) -> sparse.csc_matrix:
    """Sum of each field's BM25 matrix times the field's weight, ready for column slicing."""
    matrix = None
    for name, per_record in fields.texts.items():
        part = weights[name] * bm25_matrix(_term_frequencies(per_record, fields.terms, vocabulary))
        matrix = part if matrix is None else matrix + part
    return sparse.csc_matrix(matrix, dtype=np.float32)


def _leaders(scores: np.ndarray, count: int) -> list[int]:
    """Indices of the ``count`` highest positive scores."""
    if count >= len(scores):
        order = np.arange(len(scores))
    else:
        order = np.argpartition(-scores, count)[:count]
    return [int(index) for index in order if scores[index] > 0]
