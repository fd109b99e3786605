"""The widget end to end in headless Chromium (Debian's /usr/bin/chromium) against the real stack (`hcc run`)."""
from __future__ import annotations

import re

import pytest
from browser import new_page, playwright_api
from host_site import host_site
from knowledge_base import conversations
from knowledge_base.db import session_factory

pytestmark = pytest.mark.slow

QUESTION = "Làm hộ chiếu cần giấy tờ gì?"
ONLINE = "Trợ lý ảo · Thường trả lời ngay"


def bot_bubbles(page):
    return page.locator(".hcc-msg--in:not(.hcc-greeting) .hcc-text")


def citizen_bubbles(page):
    return page.locator(".hcc-msg--out .hcc-text")


def open_chat(page, url: str) -> None:
    page.goto(url)
    playwright_api.expect(page.locator(".hcc-status")).to_have_text(ONLINE)


def ask(page, text: str) -> None:
    box = page.get_by_label("Nhập tin nhắn")
    box.fill(text)
    box.press("Enter")


def store_bot_message(database_url: str, conversation: str, text: str, author: str = "bot") -> None:
    """A message written by another process (as the operator console would), straight into the stack's database."""
    with session_factory(database_url)() as session:
        row = conversations.get_or_create(session, "widget", conversation)
        conversations.record_message(session, row, "out", author, text)
        session.commit()


@pytest.fixture(scope="module")
def foreign_site():
    """A site not in the stack's HCC_WIDGET_ORIGINS (another loopback origin)."""
    with host_site() as site:
        yield site


def test_ask_get_the_catalogue_answer_click_a_button_and_find_the_history_after_a_reload(stack, page):
    open_chat(page, f"{stack.gateway_url}/")
    assert page.locator(".hcc-title").inner_text() == "Trung tâm Phục vụ hành chính công tỉnh Quảng Ninh"
    ask(page, QUESTION)
    answer = bot_bubbles(page).filter(has_text="1.001456")
    playwright_api.expect(answer).to_have_count(1)
    assert "hộ chiếu" in answer.inner_text().lower()
    playwright_api.expect(citizen_bubbles(page).last).to_have_text(QUESTION)
    playwright_api.expect(page.locator(".hcc-msg--out .hcc-time").last).to_have_text(re.compile(r"^\d\d:\d\d$"))

    chip = page.locator(".hcc-chip").last
    title = chip.inner_text()
    replies_before = bot_bubbles(page).count()
    chip.click()
    playwright_api.expect(citizen_bubbles(page).last).to_have_text(title)  # the title shows, not the payload
    bot_bubbles(page).nth(replies_before).wait_for()  # the bot answered the button
    playwright_api.expect(page.locator(".hcc-typing")).to_be_hidden()
    before = page.locator(".hcc-msg .hcc-text").all_inner_texts()

    page.reload()
    playwright_api.expect(page.locator(".hcc-status")).to_have_text(ONLINE)
    playwright_api.expect(page.locator(".hcc-msg .hcc-text")).to_have_count(len(before) - 1)  # no greeting now
    after = page.locator(".hcc-msg .hcc-text").all_inner_texts()
    assert after == before[1:]  # the same conversation, in order, the button shown by its title again
    assert QUESTION in after and title in after and any("1.001456" in text for text in after)


def test_at_360_px_the_embedded_panel_fits_is_keyboard_usable_and_shows_markup_literally(stack, browser, portal):
    page = new_page(browser, 360, 640, has_touch=True)
    tag = f'<script src="{stack.gateway_url}/widget.js" data-title="Bộ phận Một cửa" data-color="#d32f2f"></script>'
    try:
        page.goto(portal.page(tag))  # the portal listed in HCC_WIDGET_ORIGINS
        launcher = page.get_by_role("button", name="Mở cửa sổ trò chuyện")
        playwright_api.expect(page.locator(".hcc-panel")).to_be_hidden()
        launcher.focus()
        page.keyboard.press("Enter")  # keyboard only
        panel = page.get_by_role("dialog", name="Trò chuyện với Bộ phận Một cửa")
        playwright_api.expect(panel).to_be_visible()
        playwright_api.expect(page.locator(".hcc-status")).to_have_text(ONLINE)
        playwright_api.expect(page.get_by_label("Nhập tin nhắn")).to_be_focused()
        header = page.locator(".hcc-header")
        assert header.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(211, 47, 47)"
        box = panel.bounding_box()
        assert box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= 360 and box["y"] + box["height"] <= 640
        assert page.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scrolling
        for control in ("Nhập tin nhắn", "Gửi tin nhắn", "Thu nhỏ cửa sổ trò chuyện"):
            target = page.get_by_label(control)
            control_box = target.bounding_box()
            assert control_box["x"] >= 0 and control_box["x"] + control_box["width"] <= 360, control

        conversation = page.evaluate("localStorage.getItem('hcc-widget:conversation')")
        assert re.fullmatch(r"[A-Za-z0-9_-]{16,64}", conversation)
        store_bot_message(stack.database_url, conversation, "<b>x</b> <img src=x onerror=\"window.pwned=1\">")
        page.reload()
        page.get_by_role("button", name="Mở cửa sổ trò chuyện").click()
        bubble = bot_bubbles(page).last
        playwright_api.expect(bubble).to_have_text('<b>x</b> <img src=x onerror="window.pwned=1">')
        assert bubble.locator("b, img").count() == 0 and page.evaluate("window.pwned") is None

        page.keyboard.press("Escape")
        playwright_api.expect(panel).to_be_hidden()
        playwright_api.expect(launcher).to_be_focused()
        assert page.locator("p").evaluate("el => getComputedStyle(el).color") == "rgb(0, 128, 0)"  # host styles untouched
    finally:
        page.context.close()


def test_a_site_not_in_hcc_widget_origins_cannot_host_the_chat(stack, page, foreign_site):
    page.goto(foreign_site.page(f'<script src="{stack.gateway_url}/widget.js" data-open="true"></script>'))
    status = page.locator(".hcc-status")
    playwright_api.expect(status).to_contain_text("Mất kết nối")  # the script loads, its socket is refused
    refusals = [line for line in stack.log.read_text(encoding="utf-8").splitlines() if "widget connection refused" in line]
    assert any(foreign_site.origin in line for line in refusals), refusals


def test_after_a_network_drop_it_reconnects_and_shows_what_it_missed(stack, page):
    sockets = []

    def proxy(ws):
        server = ws.connect_to_server()  # a transparent pass-through the test can cut
        sockets.append((ws, server))

    page.route_web_socket(re.compile(r".*/ws/widget$"), proxy)
    open_chat(page, f"{stack.gateway_url}/")
    ask(page, "xin chào")
    playwright_api.expect(bot_bubbles(page)).not_to_have_count(0)
    playwright_api.expect(page.locator(".hcc-typing")).to_be_hidden()

    conversation = page.evaluate("localStorage.getItem('hcc-widget:conversation')")
    page_side, server_side = sockets[-1]
    page_side.close(code=4000, reason="drop")
    server_side.close()
    playwright_api.expect(page.locator(".hcc-status")).to_contain_text("Mất kết nối")
    store_bot_message(stack.database_url, conversation, "Tổng đài viên Lan xin chào anh/chị.", author="operator")
    playwright_api.expect(page.locator(".hcc-status")).to_have_text(ONLINE)
    playwright_api.expect(bot_bubbles(page).last).to_have_text("Tổng đài viên Lan xin chào anh/chị.")
    assert len(sockets) == 2
    playwright_api.expect(bot_bubbles(page).filter(has_text="Tổng đài viên Lan")).to_have_count(1)
    playwright_api.expect(citizen_bubbles(page).filter(has_text="xin chào")).to_have_count(1)  # nothing shown twice
