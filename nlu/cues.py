"""Question words: which token lemmas say how a citizen asks, not which procedure they mean."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from knowledge_base.lexicon import LEXICON_PATH
from knowledge_base.textfold import fold, syllables

CUES_PATH = Path(__file__).with_name("cues.yaml")


@lru_cache(maxsize=1)
def cue_lemmas() -> frozenset[str]:
    """Each question word or phrase as a token lemma: folded syllables joined by "_"."""
    words = yaml.safe_load(CUES_PATH.read_text(encoding="utf-8")) or []
    filler = (yaml.safe_load(LEXICON_PATH.read_text(encoding="utf-8")) or {}).get("filler") or []
    return frozenset("_".join(fold(s) for s in syllables(str(item))) for item in [*words, *filler])


def is_cue(lemma: str) -> bool:
    """Whether a token ("le_phi", "bao_nhieu", "o") is a question word; "ho_chieu" is not."""
    return lemma in cue_lemmas()
