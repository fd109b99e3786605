"""Report queries over seeded data (local days, Asia/Ho_Chi_Minh), the CSV exports and the SVG charts."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from knowledge_base import reports
from knowledge_base.db import transaction
from knowledge_base.models import Conversation, Handoff, Message, Procedure, Rating, Ticket, TicketEvent
from staff_helpers import make_staff, signed_in

PERIOD = reports.Period(date(2026, 11, 16), date(2026, 11, 17))


def seed(session) -> None:
    """Two local days; 16/11 starts at 17:00 UTC on the 15th."""
    session.add_all([Procedure(code="1.001", name="Cấp hộ chiếu phổ thông", levels=[], field="Xuất nhập cảnh", aliases=[]),
                     Procedure(code="2.002", name="Đăng ký kết hôn", levels=[], field="Hộ tịch", aliases=[])])
    web, tele, late = (Conversation(channel="widget", sender_id="w1"), Conversation(channel="telegram", sender_id="t1"),
                       Conversation(channel="widget", sender_id="w2"))
    session.add_all([web, tele, late])
    session.flush()
    day1 = datetime(2026, 11, 15, 17, 30)  # 16/11 00:30 local
    rows = [(web, "citizen", "hộ chiếu bao nhiêu tiền", day1), (web, "bot", "Cấp hộ chiếu phổ thông (mã 1.001)\nLệ phí ...", day1),
            (tele, "citizen", "kết hôn cần gì", day1 + timedelta(hours=2)),
            (tele, "bot", "Đăng ký kết hôn (mã 2.002)\n1. Tờ khai", day1 + timedelta(hours=2)),
            (tele, "bot", "Anh/chị muốn hỏi thủ tục nào ạ?\n1. Cấp hộ chiếu (mã 1.001)", day1 + timedelta(hours=2)),
            (late, "citizen", "làm hộ chiếu", datetime(2026, 11, 17, 2)), (late, "bot", "Cấp hộ chiếu phổ thông (mã 1.001)", datetime(2026, 11, 17, 2)),
            (web, "citizen", "ngoài khoảng", datetime(2026, 11, 15, 16, 59))]
    session.add_all([Message(conversation_id=c.id, direction="in" if a == "citizen" else "out", author=a, text=t, created_at=at)
                     for c, a, t, at in rows])
    session.add(Handoff(conversation_id=tele.id, reason="request", created_at=day1 + timedelta(hours=2),
                        taken_at=day1 + timedelta(hours=2, seconds=30)))
    session.add(Handoff(conversation_id=late.id, reason="request", created_at=datetime(2026, 11, 17, 2)))
    session.add_all([
        Rating(level="rat_hai_long", procedure_code="1.001", factors={"tiep_can": 5, "thu_tuc": 4}, created_at=day1),
        Rating(level="khong_hai_long", procedure_code="1.001", factors={"tiep_can": 2}, created_at=day1),
        Rating(level="hai_long", procedure_code="2.002", created_at=datetime(2026, 11, 17, 3)),
        Rating(level="hai_long", created_at=datetime(2026, 11, 17, 3)),
    ])
    opened = Ticket(number="PA-1", kind="complaint", content="x", created_at=day1, due_at=day1 + timedelta(hours=10))
    waiting = Ticket(number="PA-2", kind="callback", content="y", created_at=day1, due_at=day1 + timedelta(hours=1))
    session.add_all([opened, waiting])
    session.flush()
    opened.status = "da_giai_quyet"
    session.add(TicketEvent(ticket_id=opened.id, actor="lan", action="status", details={"from": "dang_xu_ly", "to": "da_giai_quyet"},
                            created_at=day1 + timedelta(hours=12)))
    session.flush()


def test_traffic_and_outcomes_by_local_day_and_channel(session):
    seed(session)
    assert reports.traffic(session, PERIOD) == [
        {"day": "2026-11-16", "channel": "telegram", "conversations": 1, "messages": 3},
        {"day": "2026-11-16", "channel": "widget", "conversations": 1, "messages": 2},
        {"day": "2026-11-17", "channel": "telegram", "conversations": 0, "messages": 0},
        {"day": "2026-11-17", "channel": "widget", "conversations": 1, "messages": 2}]
    assert reports.outcomes(session, PERIOD) == [
        {"day": "2026-11-16", "conversations": 2, "answered_by_bot": 1, "escalated": 1, "escalated_share": 50.0},
        {"day": "2026-11-17", "conversations": 1, "answered_by_bot": 0, "escalated": 1, "escalated_share": 100.0}]


def test_most_asked_procedures_and_fields_ignore_lists_of_choices(session):
    seed(session)
    assert reports.top_procedures(session, PERIOD) == [
        {"code": "1.001", "name": "Cấp hộ chiếu phổ thông", "field": "Xuất nhập cảnh", "conversations": 2},
        {"code": "2.002", "name": "Đăng ký kết hôn", "field": "Hộ tịch", "conversations": 1}]
    assert reports.top_fields(session, PERIOD) == [{"field": "Xuất nhập cảnh", "conversations": 2},
                                                   {"field": "Hộ tịch", "conversations": 1}]


def test_satisfaction_index_by_day_field_and_sipas_factors(session):
    seed(session)
    days = reports.satisfaction_by_day(session, PERIOD)
    assert [(d["day"], d["ratings"], d["index"]) for d in days] == [("2026-11-16", 2, 50.0), ("2026-11-17", 2, 100.0)]
    assert reports.satisfaction_by_field(session, PERIOD) == [
        {"field": "Xuất nhập cảnh", "ratings": 2, "satisfied": 1, "index": 50.0},
        {"field": "Chưa rõ lĩnh vực", "ratings": 1, "satisfied": 1, "index": 100.0},
        {"field": "Hộ tịch", "ratings": 1, "satisfied": 1, "index": 100.0}]
    factors = {row["factor"]: (row["answers"], row["average"]) for row in reports.sipas_factors(session, PERIOD)}
    assert factors["tiep_can"] == (2, 3.5) and factors["thu_tuc"] == (1, 4.0) and factors["ket_qua"] == (0, None)


def test_tickets_and_operator_response(session):
    seed(session)
    assert reports.tickets_by_day(session, PERIOD) == [{"day": "2026-11-16", "opened": 2, "resolved": 1},
                                                       {"day": "2026-11-17", "opened": 0, "resolved": 0}]
    assert reports.tickets_summary(session, PERIOD, now=datetime(2026, 11, 30)) == {
        "opened": 2, "resolved": 1, "overdue": 2, "median_resolution_hours": 12.0}
    assert reports.response_summary(session, PERIOD) == {"handoffs": 2, "taken": 1, "median_seconds": 30.0, "p90_seconds": 30.0}
    assert [r["median_seconds"] for r in reports.operator_response(session, PERIOD)] == [30.0, None]


def test_period_parsing_refuses_bad_dates():
    assert reports.Period.parse(None, None, today=date(2026, 11, 27)).start == date(2026, 11, 21)
    for start, end in (("2026-13-01", None), ("2026-11-20", "2026-11-01"), ("2024-01-01", "2026-01-01")):
        with pytest.raises(reports.PeriodError):
            reports.Period.parse(start, end)


def test_report_pages_csv_and_svg_for_admins_only(hcc_env):
    with transaction() as session:
        seed(session)
    make_staff("admin1", "admin")
    make_staff("lan", "operator")
    operator, _ = signed_in("lan")
    assert operator.get("/api/admin/reports").status_code == 403
    admin, _ = signed_in("admin1")
    query = "?from=2026-11-16&to=2026-11-17"
    summary = admin.get("/api/admin/reports" + query).json()
    assert (summary["conversations"], summary["escalated"], summary["satisfaction_index"]) == (3, 2, 75.0)
    assert admin.get("/api/admin/reports?from=2026-11-20&to=2026-11-01").status_code == 400
    exported = admin.get("/admin/reports/csv/procedures.csv" + query)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    lines = exported.text.lstrip("\ufeff").splitlines()
    assert lines[0] == "Mã thủ tục,Tên thủ tục,Lĩnh vực,Cuộc trò chuyện"
    assert lines[1:] == ["1.001,Cấp hộ chiếu phổ thông,Xuất nhập cảnh,2", "2.002,Đăng ký kết hôn,Hộ tịch,1"]
    for name in summary["charts"]:
        chart = admin.get(f"/admin/reports/charts/{name['name']}.svg" + query)
        assert chart.status_code == 200 and chart.headers["content-type"] == "image/svg+xml"
        assert chart.text.lstrip().startswith("<?xml") and "<svg" in chart.text
    assert "Chỉ số hài lòng theo lĩnh vực" in admin.get("/admin/reports/charts/satisfaction-fields.svg" + query).text
    assert admin.get("/admin/reports/charts/nope.svg").status_code == 404
    assert "Báo cáo" in admin.get("/admin/reports").text
