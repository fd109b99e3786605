"""Procedure retrieval benchmark: our ProcedureIndex against simple baselines on real portal FAQ.

Run from the project root: ``.venv/bin/python bench/retrieval.py``. Reads the shared data folder
(``HCC_SHARED_DATA``, default ``../shared/data``). Dev set: FAQ questions whose gold procedure
is in the catalogue. Ours learns from FAQ questions, so it is scored by 5-fold cross-validation
split by faq_id: the index for a fold only sees the other folds' questions. (Its default
weights were chosen on these same CV figures, so they are somewhat optimistic: the row for
other fold shuffles shows by how much.) ``--shuffles N`` sets how many other shuffles are averaged.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import statistics
import sys
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Sequence

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from rapidfuzz import fuzz, process  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402

from knowledge_base.importers.dvc import read_dir  # noqa: E402
from knowledge_base.records import ProcedureRecord  # noqa: E402
from knowledge_base.search import ProcedureIndex  # noqa: E402

FOLDS = 5
SEED = 13  # the fold shuffle the default weights were tuned on
OTHER_SEEDS = (1, 2, 3, 4, 5)  # fold shuffles nothing was tuned on
Ranker = Callable[[str], list[str]]  # question → procedure codes, best first


@dataclass(frozen=True)
class Question:
    faq_id: int
    text: str
    gold: frozenset[str]


@dataclass(frozen=True)
class Scores:
    recall1: float
    recall3: float
    mrr: float


def data_dir() -> Path:
    return Path(os.environ.get("HCC_SHARED_DATA") or PROJECT_ROOT.parent / "shared" / "data")


def strip_marks(text: str) -> str:
    """Every diacritic removed, đ → d, case kept: the question as typed on a bare keyboard."""
    bare = "".join(ch for ch in unicodedata.normalize("NFD", text) if unicodedata.category(ch) != "Mn")
    return bare.replace("đ", "d").replace("Đ", "D")


def load_questions(path: Path, codes: set[str]) -> list[Question]:
    """FAQ questions whose gold procedures include one in the catalogue (gold kept to those)."""
    questions = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            gold = frozenset(code.strip() for code in row.get("ma_thu_tuc") or []) & codes
            if gold and row.get("question"):
                questions.append(Question(int(row["faq_id"]), row["question"], gold))
    return questions


def fold_of(questions: Sequence[Question], seed: int = SEED) -> dict[int, int]:
    """Each faq_id's fold, shuffled once with a fixed seed."""
    ids = sorted({question.faq_id for question in questions})
    random.Random(seed).shuffle(ids)
    return {faq_id: position % FOLDS for position, faq_id in enumerate(ids)}


def evaluate(rankings: Sequence[list[str]], questions: Sequence[Question]) -> Scores:
    """Recall@1, recall@3 and MRR (over the top 10) where any gold code counts."""
    hits1 = hits3 = 0
    reciprocal = 0.0
    for ranked, question in zip(rankings, questions):
        rank = next((i for i, code in enumerate(ranked[:10], 1) if code in question.gold), None)
        hits1 += rank == 1
        hits3 += rank is not None and rank <= 3
        reciprocal += 1.0 / rank if rank else 0.0
    count = len(questions) or 1
    return Scores(hits1 / count, hits3 / count, reciprocal / count)


def tfidf_ranker(records: Sequence[ProcedureRecord]) -> Ranker:
    """Baseline: sklearn TF-IDF, word 1–2-grams, over procedure names."""
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    matrix = vectorizer.fit_transform([record.name for record in records])
    codes = [record.code for record in records]

    def rank(text: str) -> list[str]:
        scores = (matrix @ vectorizer.transform([text]).T).toarray().ravel()
        return [codes[i] for i in scores.argsort()[::-1][:10] if scores[i] > 0]

    return rank


def bm25_ranker(records: Sequence[ProcedureRecord]) -> Ranker:
    """Baseline: Okapi BM25 (k1 1.2, b 0.75) over lower-cased name words."""
    tokenize = lambda text: re.findall(r"\w+", text.lower())  # noqa: E731
    docs = [Counter(tokenize(record.name)) for record in records]
    average = statistics.mean(sum(doc.values()) for doc in docs)
    frequency = Counter(term for doc in docs for term in doc)
    codes = [record.code for record in records]

    def rank(text: str) -> list[str]:
        terms = set(tokenize(text))
        scored = []
        for code, doc in zip(codes, docs):
            score = 0.0
            for term in terms & doc.keys():
                idf = math.log(1 + (len(docs) - frequency[term] + 0.5) / (frequency[term] + 0.5))
                norm = 1.2 * (0.25 + 0.75 * sum(doc.values()) / average)
                score += idf * doc[term] * 2.2 / (doc[term] + norm)
            if score > 0:
                scored.append((score, code))
        return [code for _, code in sorted(scored, reverse=True)[:10]]

    return rank


def fuzzy_ranker(records: Sequence[ProcedureRecord]) -> Ranker:
    """Baseline: rapidfuzz token_set_ratio between question and name."""
    names = [record.name for record in records]
    codes = [record.code for record in records]

    def rank(text: str) -> list[str]:
        found = process.extract(text, names, scorer=fuzz.token_set_ratio, limit=10, processor=str.lower)
        return [codes[index] for _, _, index in found]

    return rank


def cross_validated(
    records: Sequence[ProcedureRecord],
    questions: Sequence[Question],
    versions: Sequence[Sequence[str]],
    seed: int = SEED,
) -> list[list[list[str]]]:
    """Our rankings of each version of the questions (as written, bare, ...), each question
    answered by an index that learned only from the other folds."""
    folds = fold_of(questions, seed)
    rankings: list[list[list[str]]] = [[[] for _ in questions] for _ in versions]
    for fold in range(FOLDS):
        examples = [
            (question.text, code)
            for question in questions
            if folds[question.faq_id] != fold
            for code in sorted(question.gold)
        ]
        index = ProcedureIndex.build(records, examples)
        for position, question in enumerate(questions):
            if folds[question.faq_id] == fold:
                for ranked, texts in zip(rankings, versions):
                    ranked[position] = [hit.code for hit in index.search(texts[position], top=10)]
    return rankings


def synthetic_catalogue(records: Sequence[ProcedureRecord], copies: int = 10) -> list[ProcedureRecord]:
    """The catalogue ``copies`` times, codes renamed and each copy's name given a few words of another name."""
    rng = random.Random(SEED)
    words = [record.name.split() for record in records]
    grown = list(records)
    for copy in range(1, copies):
        for record in records:
            name = record.name.split()
            donor = rng.choice(words)
            for _ in range(rng.randint(1, 3)):
                name.insert(rng.randint(0, len(name)), rng.choice(donor))
            grown.append(replace(record, code=f"{record.code}.x{copy}", name=" ".join(name)))
    return grown


def latency(index: ProcedureIndex, texts: Sequence[str]) -> tuple[float, float]:
    """p50 and p95 milliseconds per query, after a few untimed ones warm the caches."""
    for text in texts[:20]:
        index.search(text)
    timings = []
    for text in texts:
        start = time.perf_counter()
        index.search(text)
        timings.append((time.perf_counter() - start) * 1000.0)
    timings.sort()
    return statistics.median(timings), timings[int(0.95 * (len(timings) - 1))]


def timed_build(
    records: Sequence[ProcedureRecord], examples: Sequence[tuple[str, str]]
) -> tuple[ProcedureIndex, float]:
    """The index and how many seconds building it took."""
    start = time.perf_counter()
    index = ProcedureIndex.build(records, examples)
    return index, time.perf_counter() - start


def _row(scores: Scores) -> str:
    return f"{scores.recall1:6.3f} {scores.recall3:6.3f} {scores.mrr:6.3f}"


def _batch(rank: Ranker) -> Callable[[Sequence[str]], list[list[str]]]:
    return lambda texts: [rank(text) for text in texts]


def mean_scores(runs: Sequence[Scores]) -> Scores:
    return Scores(*(statistics.mean(getattr(run, name) for run in runs) for name in ("recall1", "recall3", "mrr")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shuffles", type=int, default=3, help="other fold shuffles to average (0 to skip)")
    shuffles = OTHER_SEEDS[: max(0, parser.parse_args().shuffles)]
    root = data_dir()
    records = list(read_dir(root / "catalogue" / "dvc"))
    questions = load_questions(root / "faq" / "dvc_faq.jsonl", {record.code for record in records})
    written = [question.text for question in questions]
    bare = [strip_marks(text) for text in written]
    print(f"catalogue: {len(records)} procedures; dev set: {len(questions)} questions ({FOLDS}-fold CV by faq_id)\n")

    plain = ProcedureIndex.build(records)
    systems: dict[str, Callable[[Sequence[str]], list[list[str]]]] = {
        f"ours ({FOLDS}-fold CV, learns from FAQ)": lambda texts: cross_validated(records, questions, [texts])[0],
        "ours, no examples": lambda texts: [[hit.code for hit in plain.search(text, top=10)] for text in texts],
        "TF-IDF 1-2-gram names": _batch(tfidf_ranker(records)),
        "BM25 names": _batch(bm25_ranker(records)),
        "rapidfuzz token_set names": _batch(fuzzy_ranker(records)),
    }
    header = f"{'system':<38} {'R@1':>6} {'R@3':>6} {'MRR':>6}   {'R@1':>6} {'R@3':>6} {'MRR':>6}"
    print(f"{'':<38} {'as written':^20}   {'no diacritics':^20}")
    print(header)
    print("-" * len(header))
    for position, (name, run) in enumerate(systems.items()):
        a = evaluate(run(written), questions)
        b = evaluate(run(bare), questions)
        print(f"{name:<38} {_row(a)}   {_row(b)}")
        if position == 0 and shuffles:
            runs = [cross_validated(records, questions, [written, bare], seed) for seed in shuffles]
            a, b = (mean_scores([evaluate(run[version], questions) for run in runs]) for version in (0, 1))
            print(f"{f'  same, mean of {len(shuffles)} other fold shuffles':<38} {_row(a)}   {_row(b)}")

    examples = [(question.text, code) for question in questions for code in sorted(question.gold)]
    queries = written + bare
    print()
    full, full_build = timed_build(records, examples)
    p50, p95 = latency(full, queries)
    print(f"latency, {len(full):>6} procedures: p50 {p50:6.2f} ms  p95 {p95:6.2f} ms  (build {full_build:5.2f} s)")
    grown, grown_build = timed_build(synthetic_catalogue(records), examples)
    p50, p95 = latency(grown, queries)
    print(f"latency, {len(grown):>6} procedures: p50 {p50:6.2f} ms  p95 {p95:6.2f} ms  (build {grown_build:5.2f} s)")


if __name__ == "__main__":
    main()
