"""Mã hồ sơ (Thông tư 01/2018/TT-VPCP, Điều 19): <agency code>-<YYMMDD received>-<4-digit sequence>."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

# The agency part follows QCVN 102:2016 (e.g. 000.00.04.H49); spaces and lower case are tolerated.
PATTERN = re.compile(
    r"(?<![\w.])(?P<agency>[0-9a-z]{2,3}(?:\s*\.\s*[0-9a-z]{2,3}){3})\s*-\s*(?P<date>\d{6})\s*-\s*(?P<seq>\d{4})(?!\d)",
    re.IGNORECASE,
)
EXAMPLE = "000.00.04.H49-240315-0012"
# The agency part typed and the rest wrong or cut short ("000.20.31.H49-260908-13"): not a code, but an attempt at one.
# Its last agency group has the province's letter (H49), so amounts such as 10.000.000.000 are not taken for one.
ATTEMPT = re.compile(r"(?<![\w.])[0-9a-z]{2,3}(?:\.[0-9a-z]{2,3}){2}\.[a-z]\d{2}(?:[-.][0-9a-z]*)*(?![\w.])", re.IGNORECASE)


@dataclass(frozen=True)
class TrackingCode:
    agency: str
    received: date
    sequence: int
    start: int = 0  # span in the text it was found in
    end: int = 0

    def __str__(self) -> str:
        return f"{self.agency}-{self.received:%y%m%d}-{self.sequence:04d}"


def _date(digits: str) -> date | None:
    try:
        return date(2000 + int(digits[:2]), int(digits[2:4]), int(digits[4:6]))
    except ValueError:
        return None


def find_tracking_codes(text: str) -> list[TrackingCode]:
    """Every well-formed code in ``text`` with a real date, normalised (no spaces, upper case)."""
    found = []
    for match in PATTERN.finditer(text):
        received = _date(match.group("date"))
        if received is None:
            continue
        agency = re.sub(r"\s+", "", match.group("agency")).upper()
        found.append(TrackingCode(agency, received, int(match.group("seq")), match.start(), match.end()))
    return found


def find_attempts(text: str) -> list[tuple[int, int]]:
    """Spans of ``text`` that try to be a code, well-formed or not."""
    return [(match.start(), match.end()) for match in ATTEMPT.finditer(text)]


def parse_tracking_code(text: str) -> TrackingCode | None:
    """The code when ``text`` is one (surrounding spaces allowed), else None."""
    codes = find_tracking_codes(text.strip())
    if len(codes) == 1 and codes[0].start == 0 and codes[0].end == len(text.strip()):
        return codes[0]
    return None
