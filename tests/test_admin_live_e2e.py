"""End to end: what an admin publishes through /api/admin reaches the running bot within 2 s, no restart."""
from __future__ import annotations

import time
import uuid

import httpx
import pytest

from knowledge_base import staff as accounts
from knowledge_base.db import transaction
from staff_helpers import PASSWORD

pytestmark = pytest.mark.slow
LIVE_SECONDS = 2.0


def admin_client(stack, username: str) -> tuple[httpx.Client, dict]:
    """A client signed in as a new admin of the stack's database, and its CSRF header."""
    with transaction(stack.database_url) as session:
        accounts.add_staff(session, username, "admin", PASSWORD, "Quản trị thử")
    client = httpx.Client(base_url=stack.gateway_url, timeout=10)
    response = client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return client, {"X-CSRF-Token": response.json()["csrf_token"]}


def seconds_until_answer(stack, question: str, expected: str, limit: float) -> float:
    """Ask (each time as a new citizen) until a reply contains ``expected``; the seconds it took."""
    start = time.monotonic()
    while True:
        replies = stack.say(f"live-{uuid.uuid4().hex[:8]}", question)
        if any(expected in (reply.get("text") or "") for reply in replies):
            return time.monotonic() - start
        assert time.monotonic() - start < limit + 3, f"never answered with {expected!r}: {replies}"
        time.sleep(0.1)


def test_a_published_faq_entry_is_answered_within_2_s(stack):
    client, csrf = admin_client(stack, f"live{uuid.uuid4().hex[:6]}")
    answer = "Dạ, khu vực chờ không nhận thú cưng; anh/chị vui lòng gửi thú cưng ở nhà giữ xe."
    question = "Có được mang thú cưng vào khu vực chờ không?"
    before = stack.say("live-before", question)
    assert all(answer not in (reply.get("text") or "") for reply in before)
    created = client.post("/api/admin/faq", headers=csrf, json={
        "question": question, "answer": answer, "variants": ["mang chó mèo vào trung tâm được không"], "tags": ["tiện ích"]})
    assert created.status_code == 201, created.text
    published = client.post(f"/api/admin/faq/{created.json()['id']}/publish", headers=csrf, json={})
    assert published.status_code == 200, published.text
    took = seconds_until_answer(stack, question, answer, LIVE_SECONDS)
    assert took <= LIVE_SECONDS, f"publish → answer took {took:.2f} s"


def test_an_edited_fee_is_stated_within_2_s(stack):
    client, csrf = admin_client(stack, f"fee{uuid.uuid4().hex[:6]}")
    fee = "Lệ phí đổi giấy phép lái xe: 777.000 đồng/lần"
    edit = {"channels": {"truc_tiep": {"fee": fee}, "truc_tuyen": {"fee": fee}}}
    response = client.put("/api/admin/procedures/3.000347", headers=csrf, json=edit)
    assert response.status_code == 200, response.text
    took = seconds_until_answer(stack, "lệ phí đổi giấy phép lái xe bao nhiêu tiền", "777.000", LIVE_SECONDS)
    assert took <= LIVE_SECONDS, f"fee edit → answer took {took:.2f} s"
