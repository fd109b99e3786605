"""Grouping inbox items that ask the same thing: diacritics folded, then token-set similarity (rapidfuzz).

Hotline chat mixes marked and bare spellings and word orders ("lam ho chieu mat bao nhieu tien" /
"làm hộ chiếu hết bao nhiêu tiền?"), so texts are folded first and compared as sets of words.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from rapidfuzz import fuzz, process

from knowledge_base.models import LearningItem
from knowledge_base.textfold import fold, syllables

# Token-set alone scores a different procedure asked the same way too high ("lệ phí hộ chiếu bao nhiêu" /
# "lệ phí đăng ký kết hôn bao nhiêu" 78) and a subset 100; the mean with token-sort tells them apart.
# Tuned on inbox-like pairs (tests/test_learning.py): the same question reworded, marks or not, 80–93;
# another procedure or question sharing the frame 72–75.
SIMILAR = 80.0


def similarity(a: str, b: str, **_: object) -> float:
    """0–100: how alike two folded texts are as bags and as sequences of words."""
    return (fuzz.token_set_ratio(a, b) + fuzz.token_sort_ratio(a, b)) / 2


def folded(text: str) -> str:
    """The text as compared: folded syllables, punctuation dropped."""
    return " ".join(fold(word) for word in syllables(text))


@dataclass
class Group:
    items: list[LearningItem] = field(default_factory=list)

    @property
    def head(self) -> LearningItem:
        return self.items[0]

    def as_dict(self) -> dict:
        kinds: dict[str, int] = {}
        for item in self.items:
            kinds[item.kind] = kinds.get(item.kind, 0) + 1
        return {"key": self.head.id, "text": self.head.text, "count": len(self.items), "kinds": kinds,
                "latest_at": self.head.created_at.isoformat() + "Z", "intent": self.head.intent,
                "items": [{"id": item.id, "kind": item.kind, "text": item.text, "conversation_id": item.conversation_id,
                           "intent": item.intent, "confidence": item.confidence,
                           "created_at": item.created_at.isoformat() + "Z"} for item in self.items]}


def group_items(items: Sequence[LearningItem], threshold: float = SIMILAR) -> list[Group]:
    """Items (newest first) grouped: each joins the first group whose newest text is similar enough.

    Groups come out newest first; within a group items keep their order. Greedy against each group's
    first text, so a chain of small rewordings does not drift into one group of unrelated questions.
    """
    groups: list[Group] = []
    heads: list[str] = []
    for item in items:
        text = folded(item.text)
        found = process.extractOne(text, heads, scorer=similarity, score_cutoff=threshold) if heads and text else None
        if found is None:
            groups.append(Group([item]))
            heads.append(text)
        else:
            groups[found[2]].items.append(item)
    return groups
