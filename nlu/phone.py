"""Vietnamese phone numbers in free text: mobiles and landlines, in 0… and +84… forms."""
from __future__ import annotations

import re
from dataclasses import dataclass

from knowledge_base.privacy import phone_digits

# Mobile: 0 + 3/5/7/8/9 + 8 digits; landline: 02 + 9 digits (0203 … for Quảng Ninh). Digits may
# be grouped by single spaces, dots or dashes; +84 / 84 may stand for the leading 0.
_SEP = r"[\s.\-]?"
CANDIDATE = re.compile(
    rf"(?<![\w.+])(?:\+?84{_SEP}|0)(?:[35789](?:{_SEP}\d){{8}}|2(?:{_SEP}\d){{9}})(?!\w|[.\-]\d)"
)
# Four digits standing alone: the last digits of a phone, as the dossier check asks for them.
LAST4 = re.compile(r"(?<![\d.\-])\d{4}(?![\d.\-])")
MOBILE_PREFIXES = ("03", "05", "07", "08", "09")
LANDLINE_PREFIX = "02"


@dataclass(frozen=True)
class PhoneNumber:
    digits: str  # national form, e.g. 0912345678
    start: int
    end: int

    @property
    def last4(self) -> str:
        return self.digits[-4:]


def is_valid(digits: str) -> bool:
    """Mobile: 10 digits from 03/05/07/08/09; landline: 11 digits from 02 (e.g. 0203 Quảng Ninh)."""
    if digits.startswith(MOBILE_PREFIXES):
        return len(digits) == 10
    if digits.startswith(LANDLINE_PREFIX):
        return len(digits) == 11
    return False


def find_phone_numbers(text: str) -> list[PhoneNumber]:
    found = []
    for match in CANDIDATE.finditer(text):
        digits = phone_digits(match.group())
        if is_valid(digits):
            found.append(PhoneNumber(digits, match.start(), match.end()))
    return found


def parse_phone_number(text: str) -> PhoneNumber | None:
    """The number when ``text`` is exactly one valid phone number, else None."""
    stripped = text.strip()
    found = find_phone_numbers(stripped)
    if len(found) == 1 and found[0].start == 0 and found[0].end == len(stripped):
        return found[0]
    return None
