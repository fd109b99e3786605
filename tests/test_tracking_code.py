"""Mã hồ sơ: found in free text, tolerant of spaces and case, strict about dates."""
from datetime import date

import pytest

from knowledge_base.tracking_code import find_attempts, find_tracking_codes, parse_tracking_code


@pytest.mark.parametrize(
    "text",
    ["000.00.04.H49-240315-0012", " 000.00.04.h49-240315-0012 ", "000.00.04.H49 - 240315 - 0012", "000 . 00 . 04 . H49-240315-0012"],
)
def test_accepts_spaces_and_lower_case(text):
    code = parse_tracking_code(text)
    assert str(code) == "000.00.04.H49-240315-0012"
    assert code.received == date(2024, 3, 15) and code.sequence == 12


@pytest.mark.parametrize(
    "text",
    ["000.00.04.H49-240230-0012", "000.00.04.H49-241315-0012", "000.00.04.H49-240315-12", "H49-240315-0012", "", "mã của tôi"],
)
def test_rejects_malformed_codes_and_impossible_dates(text):
    assert parse_tracking_code(text) is None


def test_finds_codes_inside_a_sentence_with_their_span():
    text = "cho hỏi hồ sơ 000.20.31.H49-261103-0042 đến đâu rồi, còn 000.00.04.H49-240315-0012 nữa"
    codes = find_tracking_codes(text)
    assert [str(c) for c in codes] == ["000.20.31.H49-261103-0042", "000.00.04.H49-240315-0012"]
    assert text[codes[0].start : codes[0].end] == "000.20.31.H49-261103-0042"


def test_an_attempt_at_a_code_is_told_from_amounts_dates_and_versions():
    text = "hồ sơ 000.20.31.h49-260908-13 và 000.20.31.H49-2609, vốn 10.000.000.000 đồng, ngày 12.03.2024, bản 3.6.21"
    assert [text[start:end] for start, end in find_attempts(text)] == ["000.20.31.h49-260908-13", "000.20.31.H49-2609"]
    assert find_tracking_codes(text) == []  # attempts, not codes: nothing is looked up from them
