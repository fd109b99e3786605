"""Vietnamese chat normalisation: NFC, one tone placement, lower case, repeats, abbreviations.

Works syllable by syllable and remembers where each syllable came from, so that tokens and
entities keep their offsets in the text the citizen typed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from knowledge_base.textfold import fold, nfc

ABBREVIATIONS_PATH = Path(__file__).with_name("abbreviations.yaml")
# A "syllable": letters and digits, or a slash-joined shorthand like "a/c".
SYLLABLE = re.compile(r"[^\W_]+(?:/[^\W_]+)?", re.UNICODE)
REPEATS = re.compile(r"([^\W\d_])\1{2,}", re.UNICODE)
# Old-style tone placement (hoà, thuỷ) → the placement underthesea and the catalogue use (hòa, thủy).
_OLD_TONES = {
    "oà": "òa", "oá": "óa", "oả": "ỏa", "oã": "õa", "oạ": "ọa",
    "oè": "òe", "oé": "óe", "oẻ": "ỏe", "oẽ": "õe", "oẹ": "ọe",
    "uỳ": "ùy", "uý": "úy", "uỷ": "ủy", "uỹ": "ũy", "uỵ": "ụy",
}
_OLD_TONE = re.compile(r"(?<![qg])(" + "|".join(_OLD_TONES) + r")(?![a-zà-ỹ])")


@dataclass(frozen=True)
class Syllable:
    """A normalised syllable and the span of the typed text it stands for."""

    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Abbreviations:
    table: dict[tuple[str, ...], tuple[str, ...]]  # folded key syllables -> expansion syllables
    keys: dict[tuple[str, ...], set[tuple[str, ...]]]  # folded key -> the keys as written in the table
    longest: int

    def match(self, words: list[str], start: int) -> tuple[int, tuple[str, ...]] | None:
        """The longest entry starting at ``words[start]``: (how many words, expansion)."""
        for size in range(min(self.longest, len(words) - start), 0, -1):
            typed = tuple(words[start : start + size])
            folded = tuple(fold(w) for w in typed)
            expansion = self.table.get(folded)
            if expansion is None:
                continue
            # Typed bare, an entry matches by its folded form ("dc" is "đc"); typed with marks,
            # only as written ("ạ" is not the key "a").
            if typed != folded and typed not in self.keys[folded]:
                continue
            return size, expansion
        return None


def modern_tone(word: str) -> str:
    """``hoà`` → ``hòa``, ``thuỷ`` → ``thủy``: one spelling for both placements."""
    return _OLD_TONE.sub(lambda m: _OLD_TONES[m.group(1)], word)


def normalize_word(word: str) -> str:
    """Lower case, NFC, one tone placement, and runs of a letter cut to one ("khônggg")."""
    word = nfc(word).lower()
    word = REPEATS.sub(r"\1", word)
    return modern_tone(word)


def parse_abbreviations(data: dict) -> Abbreviations:
    table: dict[tuple[str, ...], tuple[str, ...]] = {}
    keys: dict[tuple[str, ...], set[tuple[str, ...]]] = {}
    for section in ("chat", "domain"):
        for key, value in (data.get(section) or {}).items():
            words = tuple(normalize_word(w) for w in SYLLABLE.findall(str(key)))
            expansion = tuple(normalize_word(w) for w in SYLLABLE.findall(str(value)))
            if not words or not expansion:
                continue
            folded = tuple(fold(w) for w in words)
            table[folded] = expansion
            keys.setdefault(folded, set()).add(words)
    return Abbreviations(table, keys, max((len(k) for k in table), default=0))


@lru_cache(maxsize=4)
def load_abbreviations(path: Path = ABBREVIATIONS_PATH) -> Abbreviations:
    with path.open(encoding="utf-8") as handle:
        return parse_abbreviations(yaml.safe_load(handle) or {})


def split_syllables(text: str, start: int = 0, end: int | None = None) -> list[Syllable]:
    """The typed syllables of ``text[start:end]``, normalised, with their offsets."""
    end = len(text) if end is None else end
    return [Syllable(normalize_word(m.group()), m.start(), m.end()) for m in SYLLABLE.finditer(text, start, end)]


def expand(syllables: list[Syllable], abbreviations: Abbreviations) -> list[Syllable]:
    """Replace abbreviations by their words; each new word keeps the span of what was typed."""
    words = [s.text for s in syllables]
    out: list[Syllable] = []
    index = 0
    while index < len(syllables):
        found = abbreviations.match(words, index)
        if found is None:
            out.append(syllables[index])
            index += 1
            continue
        size, expansion = found
        start, end = syllables[index].start, syllables[index + size - 1].end
        out.extend(Syllable(word, start, end) for word in expansion)
        index += size
    return out


def normalize_text(text: str, abbreviations: Abbreviations | None = None) -> str:
    """The whole normalisation as one string, for search and for people reading logs."""
    abbreviations = abbreviations or load_abbreviations()
    return " ".join(s.text for s in expand(split_syllables(nfc(text)), abbreviations))
