"""Tickets and callbacks in the operator console: workflow, assignment, notes, replies, history, filters."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.console import citizen
from knowledge_base import conversations, handoffs
from knowledge_base import ticket_workflow as workflow
from knowledge_base.db import session_factory, transaction
from knowledge_base.models import Conversation, Handoff, Message
from knowledge_base.office_time import utc_naive
from knowledge_base.tickets import open_ticket
from staff_helpers import make_staff, signed_in


def _ticket(kind: str = "complaint", content: str = "Cán bộ hẹn trả hồ sơ nhưng quá hạn chưa trả", *,
            channel: str | None = None, days_ago: int = 0) -> str:
    with transaction() as session:
        conversation = conversations.get_or_create(session, channel, f"{channel}-cong-dan") if channel else None
        ticket = open_ticket(session, kind, content, contact_phone="0912345678",
                             conversation_id=conversation.id if conversation else None,
                             now=utc_naive() - timedelta(days=days_ago))
        return ticket.number


@pytest.fixture
def operator(hcc_env):
    make_staff("lan", full_name="Nguyễn Thị Lan")
    make_staff("minh", full_name="Trần Văn Minh")
    browser, csrf = signed_in("lan")
    browser.headers["X-CSRF-Token"] = csrf
    return browser


def test_status_follows_the_workflow_and_every_change_is_in_the_history(operator):
    number = _ticket()
    path = f"/api/console/tickets/{number}"
    assert operator.get(path).json()["ticket"]["status"] == "moi"
    moved = operator.post(f"{path}/status", json={"status": "dang_xu_ly"}).json()
    assert moved["ticket"]["status_label"] == "Đang xử lý"
    assert [s["status"] for s in moved["ticket"]["next_statuses"]] == ["da_giai_quyet", "tu_choi"]
    done = operator.post(f"{path}/status", json={"status": "da_giai_quyet", "note": "Đã trả hồ sơ cho công dân"}).json()
    assert done["ticket"]["status"] == "da_giai_quyet" and done["ticket"]["next_statuses"] == []
    history = done["history"]
    assert [(e["actor"], e["action"]) for e in history] == [("citizen", "created"), ("lan", "status"), ("lan", "status")]
    assert history[2]["details"] == {"from": "dang_xu_ly", "to": "da_giai_quyet", "note": "Đã trả hồ sơ cho công dân"}
    assert history[2]["actor_name"] == "Nguyễn Thị Lan" and history[2]["at"]
    assert "Đã giải quyết" in history[2]["text"]


def test_an_invalid_transition_is_refused_in_vietnamese_and_changes_nothing(operator):
    number = _ticket()
    path = f"/api/console/tickets/{number}"
    skipped = operator.post(f"{path}/status", json={"status": "da_giai_quyet"})
    assert skipped.status_code == 400
    assert "Không thể chuyển" in skipped.json()["error"] and "«Đang xử lý»" in skipped.json()["error"]
    unreasoned = operator.post(f"{path}/status", json={"status": "tu_choi"})
    assert unreasoned.status_code == 400 and "lý do" in unreasoned.json()["error"]
    assert operator.post(f"{path}/status", json={"status": "xong"}).status_code == 400
    too_long = operator.post(f"{path}/status", json={"status": "tu_choi", "note": "x" * 4001})
    assert too_long.status_code == 400 and too_long.json()["error"] == "Nội dung dài quá 4000 ký tự."
    detail = operator.get(path).json()
    assert detail["ticket"]["status"] == "moi" and len(detail["history"]) == 1
    operator.post(f"{path}/status", json={"status": "tu_choi", "note": "Không thuộc thẩm quyền của Trung tâm"})
    final = operator.post(f"{path}/status", json={"status": "dang_xu_ly"})
    assert final.status_code == 400 and "đã kết thúc" in final.json()["error"]


def test_a_concurrent_status_change_is_not_overwritten(hcc_env):
    make_staff("lan")
    number = _ticket()
    factory = session_factory()
    with factory() as first, factory() as second:
        mine = workflow.find(first, number)
        theirs = workflow.find(second, number)
        workflow.change_status(second, theirs, "tu_choi", "minh", "Trùng phản ánh")
        second.commit()
        with pytest.raises(workflow.WorkflowError, match="vừa được người khác cập nhật"):
            workflow.change_status(first, mine, "dang_xu_ly", "lan")
        first.rollback()
    with factory() as session:
        assert workflow.find(session, number).status == "tu_choi"


def test_assignment_notes_and_filters(operator):
    mine, other = _ticket(), _ticket(kind="feedback", content="Đề nghị bố trí thêm ghế chờ")
    path = f"/api/console/tickets/{mine}"
    assigned = operator.post(f"{path}/assign", json={"username": "minh"}).json()
    assert (assigned["ticket"]["assigned_to"], assigned["ticket"]["assigned_name"]) == ("minh", "Trần Văn Minh")
    unknown = operator.post(f"{path}/assign", json={"username": "khong-co"})
    assert unknown.status_code == 400 and "khong-co" in unknown.json()["error"]
    operator.post(f"{path}/assign", json={"username": "lan"})
    noted = operator.post(f"{path}/notes", json={"text": "Đã gọi bộ phận một cửa kiểm tra"}).json()
    assert noted["history"][-1]["details"] == {"text": "Đã gọi bộ phận một cửa kiểm tra"}
    assert [e["details"] for e in noted["history"] if e["action"] == "assigned"] == [
        {"from": None, "to": "minh"}, {"from": "minh", "to": "lan"}]
    assert operator.post(f"{path}/notes", json={"text": "   "}).status_code == 400

    def numbers(query: str) -> list[str]:
        return [t["number"] for t in operator.get(f"/api/console/tickets?{query}").json()["tickets"]]

    assert numbers("assigned=me") == [mine]
    assert numbers("assigned=none") == [other]
    assert numbers("kind=feedback") == [other]
    assert sorted(numbers("")) == sorted([mine, other])
    assert operator.get("/api/console/tickets?kind=callback").status_code == 400


def test_overdue_tickets_are_flagged_and_filtered(operator):
    late = _ticket(content="Phản ánh đã lâu chưa được trả lời", days_ago=30)
    fresh = _ticket(content="Phản ánh mới gửi hôm nay")
    solved_late = _ticket(content="Phản ánh cũ đã giải quyết", days_ago=30)
    for status in ("dang_xu_ly", "da_giai_quyet"):
        operator.post(f"/api/console/tickets/{solved_late}/status", json={"status": status})
    listed = {t["number"]: t for t in operator.get("/api/console/tickets").json()["tickets"]}
    assert listed[late]["overdue"] and not listed[fresh]["overdue"] and not listed[solved_late]["overdue"]
    assert [t["number"] for t in operator.get("/api/console/tickets?overdue=1").json()["tickets"]] == [late]


def test_a_reply_goes_to_the_citizens_conversation_and_history(operator, monkeypatch):
    sent = []

    async def fake_send(app, channel, sender, messages):
        sent.append((channel, sender, [m["text"] for m in messages]))

    monkeypatch.setattr(citizen, "send", fake_send)
    number = _ticket(channel="widget")
    replied = operator.post(f"/api/console/tickets/{number}/reply", json={"text": "Trung tâm đã tiếp nhận và đang xử lý."})
    assert replied.status_code == 200, replied.text
    body = replied.json()
    assert body["ticket"]["status"] == "dang_xu_ly"  # answering a new ticket starts handling it
    assert [e["action"] for e in body["history"]] == ["created", "replied", "status"]
    assert sent == [("widget", "widget-cong-dan", ["Trung tâm đã tiếp nhận và đang xử lý."])]
    with session_factory()() as session:
        message = session.scalars(select(Message)).one()
        assert (message.author, message.direction, message.text) == ("operator", "out", "Trung tâm đã tiếp nhận và đang xử lý.")
    assert body["transcript"][-1]["text"] == "Trung tâm đã tiếp nhận và đang xử lý."


def test_a_ticket_without_a_conversation_cannot_be_replied_to(operator):
    number = _ticket()
    refused = operator.post(f"/api/console/tickets/{number}/reply", json={"text": "Xin chào"})
    assert refused.status_code == 400 and "0912345678" in refused.json()["error"]
    assert operator.get(f"/api/console/tickets/{number}").json()["ticket"]["status"] == "moi"
    assert operator.get("/api/console/tickets/PA-000000-0001").status_code == 404


def _callback() -> tuple[str, int]:
    with transaction() as session:
        conversation = conversations.get_or_create(session, "widget", "dem-khuya")
        ticket = handoffs.request_callback(session, conversation, "0987654321", "request")
        return ticket.number, conversation.id


def test_callbacks_are_listed_and_marked_called_or_unreachable(operator):
    number, conversation_id = _callback()
    complaint = _ticket()
    listed = operator.get("/api/console/callbacks?status=open").json()["tickets"]
    assert [t["number"] for t in listed] == [number]  # complaints are not callbacks
    assert listed[0]["contact_phone"] == "0987654321" and "gọi lại" in listed[0]["content"]
    path = f"/api/console/callbacks/{number}/outcome"
    assert operator.post(path, json={"outcome": "bận"}).status_code == 400
    too_long = operator.post(path, json={"outcome": "unreachable", "note": "x" * 4001})
    assert too_long.status_code == 400 and too_long.json()["error"] == "Nội dung dài quá 4000 ký tự."
    assert operator.post(f"/api/console/callbacks/{complaint}/outcome", json={"outcome": "called"}).status_code == 400
    missed = operator.post(path, json={"outcome": "unreachable", "note": "Thuê bao không liên lạc được"}).json()
    assert (missed["ticket"]["status"], missed["ticket"]["callback_outcome_label"]) == ("dang_xu_ly", "Không liên lạc được")
    assert [t["number"] for t in operator.get("/api/console/callbacks?status=open").json()["tickets"]] == [number]
    called = operator.post(path, json={"outcome": "called", "note": "Đã hướng dẫn công dân nộp bổ sung"}).json()
    assert (called["ticket"]["status"], called["ticket"]["callback_outcome"]) == ("da_giai_quyet", "called")
    assert [e["details"].get("outcome") for e in called["history"] if e["action"] == "callback"] == ["unreachable", "called"]
    assert operator.get("/api/console/callbacks?status=open").json()["tickets"] == []
    assert [t["number"] for t in operator.get("/api/console/callbacks?status=closed").json()["tickets"]] == [number]
    assert operator.post(path, json={"outcome": "called"}).status_code == 400  # already done
    with session_factory()() as session:
        handoff = session.scalars(select(Handoff).where(Handoff.conversation_id == conversation_id)).one()
        assert handoff.status == "closed" and "Đã gọi lại" in handoff.outcome and handoff.closed_at
        assert session.get(Conversation, conversation_id).state == "bot"
