"""The learning inbox: recording, grouping similar questions, and the admin's ways out (API with auth + CSRF)."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import yaml
from sqlalchemy import select

from knowledge_base import learning
from knowledge_base.db import transaction
from knowledge_base.learning_groups import folded, group_items, similarity, SIMILAR
from knowledge_base.models import AuditLog, Conversation, FaqEntry, FaqVersion, Handoff, LearningItem, Message, Procedure, Rating
from staff_helpers import make_staff, signed_in

SAME = [("làm hộ chiếu hết bao nhiêu tiền?", "lam ho chieu mat bao nhieu tien"),
        ("làm hộ chiếu hết bao nhiêu tiền?", "lệ phí làm hộ chiếu bao nhiêu"),
        ("thời tiết hôm nay thế nào", "hôm nay thời tiết ra sao"),
        ("đăng ký kết hôn cần gì", "dang ky ket hon can giay to gi")]
DIFFERENT = [("lệ phí hộ chiếu bao nhiêu", "lệ phí đăng ký kết hôn bao nhiêu"),
             ("đăng ký kết hôn cần gì", "đăng ký khai sinh cần gì"),
             ("cấp giấy phép bay drone", "cấp giấy phép xây dựng"),
             ("hộ chiếu", "làm hộ chiếu mất bao lâu")]


@pytest.mark.parametrize("a,b", SAME)
def test_rewordings_of_one_question_are_similar(a, b):
    assert similarity(folded(a), folded(b)) >= SIMILAR


@pytest.mark.parametrize("a,b", DIFFERENT)
def test_other_questions_with_the_same_frame_are_not(a, b):
    assert similarity(folded(a), folded(b)) < SIMILAR


def _conversation(session, sender="a") -> Conversation:
    conversation = Conversation(channel="widget", sender_id=sender)
    session.add(conversation)
    session.flush()
    return conversation


def _seed(session) -> dict[str, int]:
    conversation = _conversation(session)
    start = datetime(2026, 11, 20, 3)
    texts = [("fallback", "lam ho chieu mat bao nhieu tien"), ("not_found", "xin giấy phép bay drone"),
             ("fallback", "làm hộ chiếu hết bao nhiêu tiền?"), ("fallback", "Làm hộ chiếu hết bao nhiêu tiền")]
    ids = {}
    for minutes, (kind, text) in enumerate(texts):
        item = learning.record(session, kind, text, conversation.id)
        item.created_at = start + timedelta(minutes=minutes)
        ids[text] = item.id
    assert learning.record(session, "fallback", "/request_human", conversation.id) is None
    session.flush()
    return ids


def test_items_are_grouped_newest_first_with_counts(session):
    ids = _seed(session)
    groups = group_items(learning.open_items(session))
    assert [(g.head.text, len(g.items)) for g in groups] == [("Làm hộ chiếu hết bao nhiêu tiền", 3),
                                                            ("xin giấy phép bay drone", 1)]
    assert groups[0].as_dict()["kinds"] == {"fallback": 3}
    assert [g.head.id for g in group_items(learning.open_items(session, "not_found"))] == [ids["xin giấy phép bay drone"]]
    with pytest.raises(learning.LearningError):
        learning.open_items(session, "nonsense")


def test_bad_ratings_and_escalations_are_collected_once(session):
    conversation = _conversation(session)
    now = datetime(2026, 11, 20, 4)
    session.add_all([
        Message(conversation_id=conversation.id, direction="in", author="citizen", text="hồ sơ của tôi quá hạn rồi", created_at=now),
        Message(conversation_id=conversation.id, direction="in", author="citizen", text="/request_human", created_at=now + timedelta(seconds=5)),
        Rating(conversation_id=conversation.id, level="khong_hai_long", comment="Chờ lâu quá", created_at=now),
        Rating(conversation_id=conversation.id, level="hai_long", created_at=now),
        Handoff(conversation_id=conversation.id, reason="request", created_at=now + timedelta(seconds=10)),
        Handoff(conversation_id=conversation.id, reason="low_rating", created_at=now + timedelta(seconds=20)),
    ])
    session.flush()
    assert learning.collect(session) == 2
    assert learning.collect(session) == 0
    items = {item.kind: item.text for item in learning.open_items(session)}
    assert items == {"low_rating": "Chờ lâu quá", "escalation": "hồ sơ của tôi quá hạn rồi"}


def test_faq_draft_training_alias_and_dismiss_resolve_items(session, tmp_path):
    ids = _seed(session)
    group = [item.id for item in group_items(learning.open_items(session))[0].items]
    entry = learning.create_faq_draft(session, group, "admin1")
    assert (entry.status, entry.question, entry.answer) == ("draft", "Làm hộ chiếu hết bao nhiêu tiền", "")
    assert entry.variants == ["lam ho chieu mat bao nhieu tien"]  # the two marked spellings fold to one
    assert session.scalars(select(FaqVersion.version).where(FaqVersion.faq_id == entry.id)).all() == [1]
    with pytest.raises(learning.LearningError, match="đã được xử lý"):
        learning.dismiss(session, group, "admin1")

    drone = [ids["xin giấy phép bay drone"]]
    with pytest.raises(learning.LearningError, match="ý định"):
        learning.add_training_examples(session, drone, "ask_weather", frozenset({"ask_procedure"}), "admin1")
    assert learning.add_training_examples(session, drone, "ask_procedure", frozenset({"ask_procedure"}), "admin1") \
        == ["xin giấy phép bay drone"]
    path = tmp_path / "nlu_inbox.yml"
    assert learning.export_training(session, path) == 1
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert document["nlu"] == [{"intent": "ask_procedure", "examples": "- xin giấy phép bay drone\n"}]

    assert learning.open_items(session) == []
    items = session.scalars(select(LearningItem).order_by(LearningItem.id)).all()
    assert {(i.resolution, i.resolved_by) for i in items} == {("faq", "admin1"), ("training", "admin1")}
    assert all(i.resolved_at is not None for i in items)
    actions = session.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions == ["learning_faq", "learning_training"]


def test_linking_an_alias_needs_a_known_procedure(session):
    conversation = _conversation(session)
    item = learning.record(session, "not_found", "cấp lại bằng lái xe", conversation.id)
    session.add(Procedure(code="1.002", name="Đổi giấy phép lái xe", levels=[], aliases=["đổi bằng lái"]))
    session.flush()
    with pytest.raises(learning.LearningError, match="Không tìm thấy thủ tục"):
        learning.link_alias(session, [item.id], "9.999", "admin1")
    assert item.status == "open"
    learning.link_alias(session, [item.id], "1.002", "admin1")
    procedure = session.scalars(select(Procedure).where(Procedure.code == "1.002")).one()
    assert procedure.aliases == ["đổi bằng lái", "cấp lại bằng lái xe"]
    assert (item.status, item.resolution, item.resolution_target) == ("resolved", "alias", "1.002")


def test_inbox_api_needs_an_admin_and_csrf_and_resolves_a_group(hcc_env, tmp_path, monkeypatch):
    monkeypatch.setenv("HCC_NLU_INBOX_FILE", str(tmp_path / "nlu_inbox.yml"))
    from bot.settings import get_settings
    get_settings.cache_clear()
    with transaction() as session:
        _seed(session)
    make_staff("admin1", "admin")
    make_staff("lan", "operator")
    operator, operator_csrf = signed_in("lan")
    assert operator.get("/api/admin/learning").status_code == 403
    admin, csrf = signed_in("admin1")
    listed = admin.get("/api/admin/learning").json()
    assert [g["count"] for g in listed["groups"]] == [3, 1]
    assert "ask_fee" in listed["intents"] and "inform" not in listed["intents"]
    ids = [item["id"] for item in listed["groups"][0]["items"]]

    assert admin.post("/api/admin/learning/training", json={"ids": ids, "intent": "ask_fee"}).status_code == 403  # no CSRF
    refused = admin.post("/api/admin/learning/training", json={"ids": ids, "intent": "không_có"}, headers={"X-CSRF-Token": csrf})
    assert refused.status_code == 400 and "ý định" in refused.json()["error"]
    done = admin.post("/api/admin/learning/training", json={"ids": ids, "intent": "ask_fee"}, headers={"X-CSRF-Token": csrf})
    assert done.status_code == 200, done.text
    assert "ask_fee" in (tmp_path / "nlu_inbox.yml").read_text(encoding="utf-8")
    again = admin.post("/api/admin/learning/dismiss", json={"ids": ids}, headers={"X-CSRF-Token": csrf})
    assert again.status_code == 400
    assert [g["count"] for g in admin.get("/api/admin/learning").json()["groups"]] == [1]
    assert admin.get("/api/admin/learning?kind=xyz").status_code == 400
    faq = admin.post("/api/admin/learning/faq", json={"ids": [listed["groups"][1]["key"]], "question": "Xin phép bay flycam ở đâu?"},
                     headers={"X-CSRF-Token": csrf})
    assert faq.status_code == 200
    with transaction() as session:
        entry = session.get(FaqEntry, faq.json()["faq_id"])
        assert (entry.question, entry.variants, entry.author) == ("Xin phép bay flycam ở đâu?", ["xin giấy phép bay drone"], "admin1")
    assert admin.get("/api/admin/learning").json()["groups"] == []
