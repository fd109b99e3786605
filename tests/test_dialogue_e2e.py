"""Whole conversations through the gateway's REST webhook, with Rasa and the action server running.

Every figure a reply states must be in the catalogue record it cites."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from sqlalchemy import select

from knowledge_base import catalogue
from knowledge_base.db import session_factory
from knowledge_base.models import Conversation, Rating, Ticket

pytestmark = pytest.mark.slow

PASSPORT, MARRIAGE = "1.001456", "1.000894"
DOSSIER = "000.20.31.H49-260908-0013"  # demo: returned on time; applicant Nguyễn Thị Thu Hà, phone ends 7770
AMOUNT = re.compile(r"\d{1,3}(?:[.,]\d{3})+")
DAYS = re.compile(r"(\d+(?:[.,]\d+)?)\s*(?:ngày|giờ|tháng)", re.IGNORECASE)


def texts(replies: list[dict]) -> str:
    return "\n".join(reply.get("text") or "" for reply in replies)


def payloads(replies: list[dict]) -> list[str]:
    return [button["payload"] for reply in replies for button in reply.get("buttons", [])]


@pytest.fixture(scope="module")
def db(stack):
    with session_factory(stack.database_url)() as session:
        yield session


def record(db, code):
    db.expire_all()
    return catalogue.get_procedure(db, code)


def assert_figures_from(reply: str, procedure) -> None:
    """Money amounts and durations in ``reply`` all appear in the record's own texts."""
    source = json.dumps(procedure.to_dict(), ensure_ascii=False)
    known_amounts = {int(re.sub(r"\D", "", a)) for a in AMOUNT.findall(source)} | {c.fee_amount for c in procedure.channels if c.fee_amount}
    for amount in AMOUNT.findall(reply):
        assert int(re.sub(r"\D", "", amount)) in known_amounts, (amount, reply)
    known_days = {d.replace(",", ".") for d in DAYS.findall(source)} | {
        f"{c.processing_days:g}" for c in procedure.channels if c.processing_days is not None} | {
        f"{c.committed_days:g}" for c in procedure.channels if c.committed_days is not None}
    for days in DAYS.findall(reply):
        assert days.replace(",", ".") in known_days, (days, reply)


def test_context_carries_from_documents_to_fee_and_over_to_another_procedure(stack, db):
    sender = "e2e-context"
    documents = texts(stack.say(sender, "Làm hộ chiếu cần gì?"))
    passport = record(db, PASSPORT)
    assert PASSPORT in documents and passport.documents[0].name[:30] in documents
    fee = texts(stack.say(sender, "thế lệ phí bao nhiêu?"))
    assert PASSPORT in fee and "200.000" in fee.replace(",", ".")
    assert_figures_from(fee, passport)
    switched = texts(stack.say(sender, "còn đăng ký kết hôn thì sao?"))
    assert MARRIAGE in switched and PASSPORT not in switched
    assert_figures_from(switched, record(db, MARRIAGE))


def test_questions_without_diacritics_are_answered_the_same(stack, db):
    reply = texts(stack.say("e2e-bare", "le phi lam ho chieu bn"))
    assert PASSPORT in reply
    assert_figures_from(reply, record(db, PASSPORT))


def test_dossier_status_then_personal_details_only_after_the_phone_check(stack):
    sender = "e2e-dossier"
    assert "mã hồ sơ" in texts(stack.say(sender, "tra cứu hồ sơ"))
    bad = texts(stack.say(sender, "mã là H49-2603"))
    assert "000.00.04.H49-240315-0012" in bad  # the expected format is explained
    status = texts(stack.say(sender, DOSSIER))
    assert "Đã trả kết quả" in status and "08/09/2026" in status and "Nguyễn Thị Thu Hà" not in status
    assert "chưa khớp" in texts(stack.say(sender, "1234"))
    assert "Nguyễn Thị Thu Hà" in texts(stack.say(sender, "7770"))


def test_a_complaint_is_stored_before_it_is_confirmed_and_can_be_followed(stack, db):
    sender = "e2e-complaint"
    stack.say(sender, "tôi muốn phản ánh")
    stack.say(sender, "Cán bộ quầy số 3 hẹn trả kết quả ba lần vẫn chưa trả")
    stack.say(sender, DOSSIER)
    confirmation = texts(stack.say(sender, "Nguyễn Văn An 0912 345 678"))
    number = re.search(r"PA-\d{6}-\d{4}", confirmation).group()
    db.expire_all()
    ticket = db.scalars(select(Ticket).where(Ticket.number == number)).one()
    assert (ticket.kind, ticket.status, ticket.tracking_code, ticket.contact_phone) == ("complaint", "moi", DOSSIER, "0912345678")
    assert "quầy số 3" in ticket.content
    for asked in (f"phản ánh {number} đến đâu rồi", f"phan anh {number} den dau roi"):
        progress = texts(stack.say(sender, asked))
        assert number in progress and "Mới tiếp nhận" in progress, asked


def test_an_unhappy_rating_with_factors_is_stored_and_offers_help(stack, db):
    sender = "e2e-rating"
    assert '/rate_service{"rating_level": "khong_hai_long"}' in payloads(stack.say(sender, "tôi muốn đánh giá"))
    stack.say(sender, '/rate_service{"rating_level": "khong_hai_long"}')
    stack.say(sender, "có")
    for score in ("2", "3", "1", "4", "2"):
        stack.say(sender, score)
    closing = stack.say(sender, "chờ lâu quá")
    assert {"/complain", "/request_human"} <= set(payloads(closing))
    db.expire_all()
    conversation = db.scalars(select(Conversation).where(Conversation.sender_id == sender)).one()
    rating = db.scalars(select(Rating).where(Rating.conversation_id == conversation.id)).one()
    assert rating.level == "khong_hai_long" and rating.comment == "chờ lâu quá"
    assert rating.factors == {"tiep_can": 2, "thu_tuc": 3, "cong_chuc": 1, "ket_qua": 4, "phan_anh": 2}


def test_a_level_chosen_before_a_question_is_kept_and_the_question_answered(stack, db):
    sender = "e2e-rating-left"
    stack.say(sender, '/rate_service{"rating_level": "khong_hai_long"}')
    answer = texts(stack.say(sender, "lệ phí làm hộ chiếu bao nhiêu"))
    assert PASSPORT in answer
    db.expire_all()
    conversation = db.scalars(select(Conversation).where(Conversation.sender_id == sender)).one()
    rating = db.scalars(select(Rating).where(Rating.conversation_id == conversation.id)).one()
    assert (rating.level, rating.factors, rating.comment) == ("khong_hai_long", None, None)
    assert PASSPORT in texts(stack.say(sender, "nộp ở đâu"))  # the form is over: no rating question comes back


def test_asking_for_a_person_queues_the_conversation_and_the_operator_silences_the_bot(stack, db):
    sender = "e2e-human"
    queued = texts(stack.say(sender, "cho tôi gặp tổng đài viên"))
    assert "vị trí số" in queued
    for asked in ("alo", "có ai không"):  # while waiting, where the citizen stands, not the bot's greeting
        waiting = texts(stack.say(sender, asked))
        assert "vị trí số 1" in waiting and "Xin chào" not in waiting, (asked, waiting)
    db.expire_all()
    conversation = db.scalars(select(Conversation).where(Conversation.sender_id == sender)).one()
    assert conversation.state == "queued"
    conversation.state = "operator"
    db.commit()
    assert stack.say(sender, "alo, có ai không") == []


def test_two_misunderstood_turns_offer_an_operator(stack):
    sender = "e2e-fallback"
    stack.say(sender, "zzqx vbnm")
    second = stack.say(sender, "qwpoi lkjh")
    assert "/request_human" in payloads(second)


def test_goodbye_after_an_answer_offers_the_three_level_rating(stack):
    sender = "e2e-goodbye"
    stack.say(sender, "đăng ký khai sinh cần giấy tờ gì")
    assert len([p for p in payloads(stack.say(sender, "cảm ơn nhé")) if p.startswith("/rate_service")]) == 3
