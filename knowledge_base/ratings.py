"""Mức độ hài lòng: the national 3-level scale, optionally the five SIPAS factors scored 1–5."""
from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy.orm import Session

from knowledge_base import form_input
from knowledge_base.models import Rating

LEVELS = {"rat_hai_long": "Rất hài lòng", "hai_long": "Hài lòng", "khong_hai_long": "Không hài lòng"}
FACTORS = {
    "tiep_can": "Tiếp cận dịch vụ",
    "thu_tuc": "Thủ tục hành chính",
    "cong_chuc": "Công chức giải quyết",
    "ket_qua": "Kết quả giải quyết",
    "phan_anh": "Tiếp nhận, xử lý phản ánh",
}
SCORES = range(1, 6)


def record_rating(
    session: Session,
    level: str,
    *,
    factors: Mapping[str, Any] | None = None,
    comment: str | None = None,
    tracking_code: str | None = None,
    procedure_code: str | None = None,
    conversation_id: int | None = None,
) -> Rating:
    """Store one rating; the caller commits."""
    if level not in LEVELS:
        raise ValueError(f"Mức đánh giá không hợp lệ. Vui lòng chọn: {', '.join(LEVELS.values())}.")
    rating = Rating(
        level=level,
        factors=_scores(factors or {}) or None,
        comment=form_input.text(comment),
        tracking_code=form_input.tracking_code(tracking_code),
        procedure_code=form_input.procedure_code(procedure_code),
        conversation_id=conversation_id,
    )
    session.add(rating)
    session.flush()
    return rating


def _scores(factors: Mapping[str, Any]) -> dict[str, int]:
    unknown = set(factors) - set(FACTORS)
    if unknown:
        raise ValueError(f"Tiêu chí đánh giá không hợp lệ: {', '.join(sorted(map(str, unknown)))}.")
    # Rasa float slots give 4.0 and buttons give "4": both mean 4; True, 4.5 or "bốn" do not.
    return {key: _score(label, factors[key]) for key, label in FACTORS.items() if factors.get(key) is not None}


def _score(label: str, value: Any) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value not in SCORES:
        raise ValueError(f"Điểm cho tiêu chí “{label}” phải là số nguyên từ 1 đến 5.")
    return value
