"""HTML/JS injection in headless Chromium: payloads stored as a citizen's chat message, a bot and an operator reply,
a button title, a ticket's content, contact name and note, a canned reply and an FAQ answer are shown as text in the
widget, the operator console and the admin page; none becomes an element and none runs."""
from __future__ import annotations

import pytest

from browser import expect
from knowledge_base import conversations
from knowledge_base.db import transaction
from knowledge_base.handoffs import request_handoff
from knowledge_base.models import CannedReply
from knowledge_base.staff import add_staff
from knowledge_base.ticket_workflow import add_note
from knowledge_base.tickets import open_ticket
from test_tickets_browser import gateway  # noqa: F401 (fixture: the gateway alone over a fresh SQLite database)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

PAYLOADS = ['<img src=x onerror="window.__pwned=1">', "<script>window.__pwned=2</script>",
            '"><svg onload="window.__pwned=3">', "<a href=\"javascript:window.__pwned=4\">bấm</a>"]
CONVERSATION = "xss-conversation-0001"
PASSWORD = "mat-khau-quan-tri-1"
# Every element in the page and in every open shadow root (the widget lives in one).
INJECTED = """() => {
  const found = [];
  const walk = (root) => root.querySelectorAll('*').forEach((el) => {
    const tag = el.tagName.toLowerCase();
    if (['img', 'svg'].includes(tag) && (el.getAttribute('src') === 'x' || el.hasAttribute('onload') || el.hasAttribute('onerror'))) found.push(tag);
    if (tag === 'script' && el.textContent.includes('__pwned')) found.push(tag);
    if (tag === 'a' && (el.getAttribute('href') || '').startsWith('javascript:')) found.push(tag);
    if (el.shadowRoot) walk(el.shadowRoot);
  });
  walk(document);
  return {pwned: window.__pwned === undefined ? null : window.__pwned, found};
}"""


@pytest.fixture(scope="module")
def stored(gateway):  # noqa: F811
    url, database_url = gateway
    text = " ".join(PAYLOADS)
    with transaction(database_url) as session:
        add_staff(session, "quantri", "admin", PASSWORD, full_name="Quản trị <b onmouseover=alert(1)>")
        conversation = conversations.get_or_create(session, "widget", CONVERSATION)
        conversations.record_message(session, conversation, "in", "citizen", text)
        conversations.record_message(session, conversation, "out", "bot", text,
                                     payload={"buttons": [{"title": PAYLOADS[0], "payload": PAYLOADS[1]}]})
        conversations.record_message(session, conversation, "out", "operator", text)
        request_handoff(session, conversation, "request")
        ticket = open_ticket(session, "complaint", text, contact_name=PAYLOADS[0], contact_phone="0912345678",
                             conversation_id=conversation.id)
        add_note(session, ticket, "quantri", text)
        session.add(CannedReply(title=PAYLOADS[0], text=text, position=0, updated_by="quantri"))
    return url, ticket.number, text


def _assert_inert(page) -> None:
    page.wait_for_timeout(300)  # an onerror fires as soon as the image fails to load
    assert page.evaluate(INJECTED) == {"pwned": None, "found": []}


def test_payloads_in_the_chat_are_text_in_the_widget(stored, page):
    url, _, text = stored
    page.add_init_script(f"localStorage.setItem('hcc-widget:conversation', '{CONVERSATION}')")
    page.goto(f"{url}/")
    expect(page.locator(".hcc-msg .hcc-text", has_text=PAYLOADS[0]).first).to_be_visible()
    expect(page.get_by_role("button", name=PAYLOADS[0])).to_be_visible()  # the button's title, as text
    _assert_inert(page)


def test_payloads_in_chat_tickets_notes_canned_replies_and_faq_are_text_in_the_console(stored, page):
    url, number, text = stored
    page.goto(f"{url}/console/login")
    page.get_by_label("Tên đăng nhập").fill("quantri")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{url}/admin**")
    response = page.request.post(f"{url}/api/admin/faq", data={"question": "Câu hỏi có mã độc", "answer": text},
                                 headers={"X-CSRF-Token": page.evaluate("fetch('/api/auth/me').then(r => r.json()).then(b => b.csrf_token)")})
    assert response.status in (201, 404)
    page.reload()
    page.wait_for_load_state("networkidle")
    _assert_inert(page)

    page.goto(f"{url}/console")
    row = page.locator("#queue-table tbody tr").first
    expect(row).to_contain_text(PAYLOADS[0])
    row.get_by_role("button", name="Nhận").click()
    expect(page.locator("#chat-log")).to_contain_text(PAYLOADS[1])
    _assert_inert(page)

    page.get_by_role("link", name="Phản ánh").click()
    ticket = page.locator("#ticket-table tbody tr", has_text=number)
    expect(ticket).to_contain_text(PAYLOADS[0])
    ticket.click()
    expect(page.locator("#ticket-detail")).to_contain_text(PAYLOADS[2])
    _assert_inert(page)
