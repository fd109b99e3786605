"""Reports and the learning inbox in headless Chromium against the real gateway (no Rasa): an admin sees
every chart drawn from seeded data, and a group of similar unanswered questions, and resolves it."""
from __future__ import annotations

import pytest

from browser import expect
from knowledge_base import learning
from knowledge_base import staff as accounts
from knowledge_base.db import transaction
from knowledge_base.models import Conversation
from test_reports import seed
from test_tickets_browser import PASSWORD, gateway  # noqa: F401 (fixture)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def test_an_admin_reads_the_reports_and_clears_an_inbox_group(gateway, page):  # noqa: F811
    url, database_url = gateway
    with transaction(database_url) as session:
        accounts.add_staff(session, "giamdoc", "admin", PASSWORD, "Trần Văn Giám")
        seed(session)
        conversation = Conversation(channel="widget", sender_id="hoi")
        session.add(conversation)
        session.flush()
        for text in ("lam ho chieu mat bao nhieu tien", "Làm hộ chiếu hết bao nhiêu tiền?"):
            learning.record(session, "fallback", text, conversation.id)

    page.goto(f"{url}/admin/reports")
    page.get_by_label("Tên đăng nhập").fill("giamdoc")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{url}/admin/reports**")
    page.get_by_label("Từ ngày").fill("2026-11-16")
    page.get_by_label("Đến ngày").fill("2026-11-17")
    page.get_by_role("button", name="Xem báo cáo").click()
    expect(page.locator("#report-summary")).to_contain_text("75% (4 lượt đánh giá)")
    charts = page.locator("#report-charts figure img")
    expect(charts).to_have_count(10)
    for index in range(10):
        charts.nth(index).scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=charts.nth(index).element_handle(), timeout=30000)
    expect(page.locator("#report-charts a", has_text="Tải CSV")).to_have_count(10)

    page.goto(f"{url}/admin")
    group = page.locator(".learning-group", has_text="Làm hộ chiếu hết bao nhiêu tiền")
    expect(group.locator(".count")).to_have_text("×2")
    group.get_by_role("button", name="Tạo câu hỏi thường gặp").click()
    expect(page.locator("#toast")).to_contain_text("Đã tạo bản nháp")
    expect(page.locator(".learning-group", has_text="Làm hộ chiếu hết bao nhiêu tiền")).to_have_count(0)
