"""Vietnamese text normalisation: text made storable (NFC, no NUL or lone surrogate) and made comparable
(syllables, diacritic folding, canonical tones)."""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# The five tone marks; circumflex, breve and horn change the vowel itself and are kept apart.
TONE_MARKS = {"\u0300": "2", "\u0301": "1", "\u0303": "4", "\u0309": "3", "\u0323": "5"}
_SYLLABLE = re.compile(r"[^\W_]+", re.UNICODE)
# NUL: PostgreSQL refuses it in text. A lone surrogate (a JSON "\ud800" escape, an emoji cut in half by a
# client) has no UTF-8 form, so no database keeps it.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def nfc(text: str) -> str:
    """Composed marks (NFC): one spelling for text typed with combining marks."""
    return unicodedata.normalize("NFC", text)


def storable(text: str) -> str:
    """NFC text any database keeps: each unstorable character becomes U+FFFD, the rest is kept as typed."""
    return UNSTORABLE.sub("\ufffd", nfc(text))


def normalize(text: str) -> str:
    """NFC and lower case: one spelling for input typed with composed or combining marks."""
    return nfc(text).lower()


@lru_cache(maxsize=1 << 17)  # called per syllable; a language has only so many
def fold(text: str) -> str:
    """Strip every diacritic (đ → d) and lower the case: how hotline chat is typed."""
    decomposed = unicodedata.normalize("NFD", text.lower())
    bare = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return bare.replace("đ", "d")


@lru_cache(maxsize=1 << 17)
def canonical(syllable: str) -> str:
    """One spelling per syllable whatever the tone placement: ``thuỷ`` and ``thủy`` → ``thuy3``."""
    decomposed = unicodedata.normalize("NFD", syllable)
    tone = ""
    kept = []
    for ch in decomposed:
        if ch in TONE_MARKS:
            tone = TONE_MARKS[ch]
        else:
            kept.append(ch)
    return unicodedata.normalize("NFC", "".join(kept)) + tone


def syllables(text: str) -> list[str]:
    """Lower-cased syllables (letters or digits) of ``text``, punctuation dropped."""
    return _SYLLABLE.findall(normalize(text))


@lru_cache(maxsize=1 << 17)
def has_diacritics(text: str) -> bool:
    """Whether the writer typed any Vietnamese mark at all (else only folded features count)."""
    return fold(text) != text.lower()
