"""The operator console end to end in headless Chromium against the real stack (`hcc run`, trained model):
a citizen in the widget asks for a person, an operator takes it, they talk both ways, the operator closes,
the citizen is asked for a rating; a second operator cannot take the same conversation."""
from __future__ import annotations

import pytest

from browser import expect, new_page
from knowledge_base.db import transaction
from knowledge_base.staff import add_staff
from test_widget_browser import ask, bot_bubbles, open_chat

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

PASSWORD = "mat-khau-dai-du-10"


@pytest.fixture(scope="module")
def operators(stack):
    with transaction(stack.database_url) as session:
        for username, name in (("lan.op", "Trần Thị Lan"), ("minh.op", "Lê Văn Minh")):
            add_staff(session, username, "operator", PASSWORD, full_name=name)
    return {"lan": ("lan.op", "Trần Thị Lan"), "minh": ("minh.op", "Lê Văn Minh")}


def console(browser, stack, username: str):
    page = new_page(browser, 1280, 900)
    page.goto(f"{stack.gateway_url}/console")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.locator("#staff-name")).not_to_be_empty()
    page.get_by_role("link", name="Hàng chờ").click()
    expect(page.locator("#queue-link")).to_have_text("Trực tuyến")
    return page


def test_a_citizen_asks_for_a_person_and_an_operator_serves_them_live(stack, browser, page, operators):
    lan = console(browser, stack, operators["lan"][0])
    minh = console(browser, stack, operators["minh"][0])
    open_chat(page, f"{stack.gateway_url}/")
    ask(page, "Cho tôi gặp tổng đài viên")
    expect(bot_bubbles(page).last).to_contain_text("tổng đài viên")

    # It appears in both consoles without a reload, with its reason and the citizen's words.
    row = lan.locator("#queue-table tbody tr", has_text="Cho tôi gặp tổng đài viên")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Công dân đề nghị gặp tổng đài viên")
    expect(row).to_contain_text("Web")
    other = minh.locator("#queue-table tbody tr", has_text="Cho tôi gặp tổng đài viên")
    expect(other).to_have_count(1)

    row.get_by_role("button", name="Nhận").click()
    expect(page.locator(".hcc-msg--in .hcc-text").last).to_have_text("Tổng đài viên Trần Thị Lan đã tham gia cuộc trò chuyện.")
    expect(lan.locator("#chat-log")).to_contain_text("Cho tôi gặp tổng đài viên")  # the whole transcript, bot turns too
    expect(lan.locator("#chat-log li.by-bot")).not_to_have_count(0)

    # Minh's button went away live; taking it anyway (a stale page) is refused with the reason.
    expect(other).to_contain_text("Đang xử lý: Trần Thị Lan")
    handoff = other.get_attribute("data-handoff")
    refused = minh.evaluate("id => HCC.api('POST', '/api/console/handoffs/' + id + '/take').then(() => 'taken', e => e.message)", handoff)
    assert "đã có người nhận" in refused

    lan.get_by_label("Trả lời công dân").fill("Chào anh/chị, em là Lan. Em giúp gì được ạ?")
    lan.get_by_role("button", name="Gửi").click()
    expect(page.locator(".hcc-msg--in .hcc-text").last).to_have_text("Chào anh/chị, em là Lan. Em giúp gì được ạ?")

    ask(page, "Tôi muốn hỏi hồ sơ 000.00.04.H49-240315-0012")
    expect(lan.locator("#chat-log li.by-citizen").last).to_contain_text("000.00.04.H49-240315-0012")

    lan.locator("#chat-outcome").select_option("resolved")
    lan.get_by_role("button", name="Kết thúc").click()
    expect(page.locator(".hcc-msg--in .hcc-text").last).to_contain_text("đánh giá")
    for title in ("Rất hài lòng", "Hài lòng", "Không hài lòng"):
        expect(page.get_by_role("button", name=title, exact=True).last).to_be_visible()
    expect(row).to_have_count(0)  # gone from the queue
    # Back with the bot: a rating button is answered by the rating form.
    page.get_by_role("button", name="Rất hài lòng", exact=True).last.click()
    expect(bot_bubbles(page).last).not_to_contain_text("đánh giá thế nào về sự hỗ trợ vừa rồi")
    lan.context.close()
    minh.context.close()
