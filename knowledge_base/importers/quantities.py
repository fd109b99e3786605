"""Read the numbers out of published texts: submission form, processing time, fee."""
from __future__ import annotations

import re

from knowledge_base.textfold import nfc

CHANNEL_NAMES = {
    "trực tiếp": "truc_tiep",
    "trực tuyến": "truc_tuyen",
    "dịch vụ bưu chính": "buu_chinh",
    "bưu chính": "buu_chinh",
}
TIME_UNITS = ("ngày làm việc", "ngày", "giờ làm việc", "giờ", "tháng", "tuần", "năm")
TIME = re.compile(r"(\d+(?:[.,]\d+)?)\s*(" + "|".join(TIME_UNITS) + r")?", re.IGNORECASE)
SAME_DAY = re.compile(r"(ngay\s+)?trong\s+(ngày|buổi)", re.IGNORECASE)
AMOUNT = re.compile(r"(\d{1,3}(?:[.,]\d{3})+|\d+)\s*(?:đ\b|đồng|vnđ|vnd)", re.IGNORECASE)
FREE = re.compile(r"miễn\s*(phí|lệ phí)|không\s+(thu|mất)\s+(phí|lệ phí)|^\s*(phí|lệ phí)?\s*:?\s*0\s*đồng", re.IGNORECASE)


def channel_kind(label: str) -> str | None:
    """'Trực tiếp' → 'truc_tiep'; None for an unknown submission form."""
    label = nfc(label).strip().lower()
    for name, kind in CHANNEL_NAMES.items():
        if label.startswith(name):
            return kind
    return None


def parse_time(text: str | None) -> tuple[float | None, str | None]:
    """'20 Ngày làm việc' → (20.0, 'ngày làm việc'); 'Trong ngày' → (0.0, 'ngày'); a bare '5' → (5.0, None)."""
    if not text:
        return None, None
    text = nfc(text)
    match = TIME.search(text)
    if match:
        unit = match.group(2).lower() if match.group(2) else None
        return float(match.group(1).replace(",", ".")), unit
    if SAME_DAY.search(text):
        return 0.0, "ngày"
    return None, None


def parse_fee(text: str | None) -> int | None:
    """The fee in VND when the text states exactly one amount (free → 0), else None."""
    if not text:
        return None
    text = nfc(text)
    amounts = {int(re.sub(r"[.,]", "", m.group(1))) for m in AMOUNT.finditer(text)}
    if FREE.search(text) and not amounts - {0}:
        return 0
    if len(amounts) == 1:
        return amounts.pop()
    return None
