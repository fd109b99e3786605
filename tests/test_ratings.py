"""Ratings: the national 3-level scale, SIPAS factors on 1–5, validation that stores nothing on bad input."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from knowledge_base.conversations import get_or_create
from knowledge_base.models import Rating
from knowledge_base.ratings import FACTORS, LEVELS, record_rating


def test_labels():
    assert list(LEVELS.values()) == ["Rất hài lòng", "Hài lòng", "Không hài lòng"]
    assert list(FACTORS) == ["tiep_can", "thu_tuc", "cong_chuc", "ket_qua", "phan_anh"]


def test_a_rating_with_factors_comment_and_codes(session):
    conversation = get_or_create(session, "telegram", "5")
    rating = record_rating(
        session, "khong_hai_long", factors={"ket_qua": "2", "tiep_can": 4.0, "cong_chuc": 5, "thu_tuc": None},
        comment="  Phải đi lại ba lần ", tracking_code="000.00.04.h49-240315-0012", procedure_code="1.001193",
        conversation_id=conversation.id,
    )
    session.commit()
    session.expunge_all()
    stored = session.scalars(select(Rating)).one()
    assert stored.id == rating.id and stored.level == "khong_hai_long"
    assert stored.factors == {"tiep_can": 4, "cong_chuc": 5, "ket_qua": 2}
    assert stored.comment == "Phải đi lại ba lần"
    assert stored.tracking_code == "000.00.04.H49-240315-0012"
    assert stored.conversation_id == conversation.id


def test_a_bare_level_is_enough(session):
    rating = record_rating(session, "rat_hai_long", factors={}, comment="   ")
    assert (rating.factors, rating.comment, rating.tracking_code) == (None, None, None)


@pytest.mark.parametrize("level, extra, message", [
    ("hai long", {}, "Mức đánh giá"),
    ("hai_long", {"factors": {"thai_do": 5}}, "Tiêu chí"),
    ("hai_long", {"factors": {"tiep_can": 0}}, "Tiếp cận dịch vụ"),
    ("hai_long", {"factors": {"ket_qua": 6}}, "từ 1 đến 5"),
    ("hai_long", {"factors": {"ket_qua": 4.5}}, "từ 1 đến 5"),
    ("hai_long", {"factors": {"ket_qua": True}}, "từ 1 đến 5"),
    ("hai_long", {"factors": {"ket_qua": "bốn"}}, "từ 1 đến 5"),
    ("hai_long", {"tracking_code": "12345"}, "Mã hồ sơ"),
])
def test_bad_input_raises_a_vietnamese_message_and_stores_nothing(session, level, extra, message):
    with pytest.raises(ValueError, match=message):
        record_rating(session, level, **extra)
    session.commit()
    assert session.scalar(select(func.count()).select_from(Rating)) == 0
