"""The matching terms of a text: folded and accented syllables, pairs and triples, lexicon wording added."""
from __future__ import annotations

import re
from typing import Iterable, Sequence

from knowledge_base.lexicon import Lexicon
from knowledge_base.records import ProcedureRecord
from knowledge_base.textfold import canonical, fold, has_diacritics

FOLDED = "f:"  # diacritics stripped: what every writer shares
ACCENTED = "a:"  # canonical accented form: only when the writer typed marks
# The portal glues its page furniture after the result ("Mã: KQ.G01...Từ khóa..."); only the head counts.
_RESULT_TAIL = re.compile(r"Mã:\s*KQ|Từ khóa|Chọn cơ quan")
DOCUMENT_WORDS = 25  # a paper's name is at its head; the notes after it cost time and add little


def text_terms(words: Sequence[str], lexicon: Lexicon) -> list[str]:
    """Terms of ``words`` (lower-cased syllables) and of the official wording the lexicon adds.

    Single words skip the question's filler; pairs and triples keep it, so "cấp lại" and
    "không phải" still tell procedures apart. Syllables typed without marks only give folded terms.
    """
    terms: list[str] = []
    for phrase in [list(words), *lexicon.expand(words)]:
        folded = [fold(word) for word in phrase]
        marked = [has_diacritics(word) for word in phrase]
        accented = [canonical(word) for word in phrase]
        for i, word in enumerate(phrase):
            if not lexicon.is_filler(word):
                terms.append(FOLDED + folded[i])
                if marked[i]:
                    terms.append(ACCENTED + accented[i])
        for i in range(len(phrase) - 1):
            terms.append(f"{FOLDED}{folded[i]} {folded[i + 1]}")
            if marked[i] and marked[i + 1]:
                terms.append(f"{ACCENTED}{accented[i]} {accented[i + 1]}")
        for i in range(len(phrase) - 2):
            terms.append(f"{FOLDED}{folded[i]} {folded[i + 1]} {folded[i + 2]}")
    return terms


def folded_only(terms: Iterable[str]) -> list[str]:
    """The diacritic-free terms: comparable between questions typed with and without marks."""
    return [term for term in terms if term.startswith(FOLDED)]


def record_fields(record: ProcedureRecord) -> dict[str, list[str]]:
    """The texts of a procedure that say what it is, by field name."""
    result = _RESULT_TAIL.split(record.result)[0] if record.result else ""
    return {
        "title": [record.name, *record.aliases],
        "field": [record.field or ""],
        "result": [result],
        "documents": [" ".join(document.name.split()[:DOCUMENT_WORDS]) for document in record.documents],
        "agency": [record.agency or "", record.authority or "", ", ".join(record.levels)],
        "subjects": [record.subjects or ""],
        "legal": [record.legal_basis or ""],
    }
