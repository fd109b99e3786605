"""Tickets in headless Chromium against the real gateway (`hcc run --gateway-only`, no Rasa): an operator
logs in, moves a complaint along its workflow, sees its history, is refused the admin page, and logs out."""
from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from browser import expect
from knowledge_base.db import session_factory, transaction
from knowledge_base.models import Ticket, TicketEvent
from knowledge_base.tickets import open_ticket
from stack import HCC, ROOT, free_port, stack_env

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

PASSWORD = "mat-khau-thu-nghiem-1"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    """The gateway alone on a free loopback port over a fresh SQLite database; yields (url, database url)."""
    workdir: Path = tmp_path_factory.mktemp("tickets-browser")
    env = {**stack_env(workdir), "HCC_PORT": str(free_port())}
    subprocess.run([str(HCC), "staff", "add", "lan", "--role", "operator", "--name", "Nguyễn Thị Lan", "--password-stdin"],
                   cwd=ROOT, env=env, input=PASSWORD + "\n", text=True, check=True, capture_output=True, timeout=120)
    log = (workdir / "gateway.log").open("w")
    process = subprocess.Popen([str(HCC), "run", "--gateway-only"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{env['HCC_PORT']}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the gateway did not start:\n" + (workdir / "gateway.log").read_text())
            time.sleep(0.3)
        yield url, env["HCC_DATABASE_URL"]
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def test_an_operator_moves_a_complaint_along_and_is_refused_the_admin_page(gateway, page):
    url, database_url = gateway
    with transaction(database_url) as session:
        number = open_ticket(session, "complaint", "Cán bộ tiếp nhận hẹn trả kết quả nhưng đã quá hạn",
                             contact_name="Phạm Văn Bình", contact_phone="0912345678").number

    page.goto(f"{url}/console")
    expect(page).to_have_url(f"{url}/console/login?next=/console")
    page.get_by_label("Tên đăng nhập").fill("lan")
    page.get_by_label("Mật khẩu").fill("sai-mat-khau-nhe")
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.locator("#login-error")).to_contain_text("không đúng")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{url}/console**")
    expect(page.locator("#staff-name")).to_have_text("Nguyễn Thị Lan")

    page.get_by_role("link", name="Phản ánh").click()
    row = page.locator("#ticket-table tbody tr", has_text=number)
    expect(row).to_contain_text("Mới tiếp nhận")
    row.click()
    detail = page.locator("#ticket-detail")
    expect(detail).to_contain_text("Phạm Văn Bình")
    expect(detail.get_by_role("button", name="Đã giải quyết")).to_have_count(0)  # not offered from «Mới tiếp nhận»
    detail.get_by_role("button", name="Đang xử lý").click()
    expect(page.locator("#toast")).to_contain_text("Đã chuyển sang «Đang xử lý»")
    expect(row).to_contain_text("Đang xử lý")
    expect(page.locator("#ticket-history")).to_contain_text("Mới tiếp nhận → Đang xử lý")
    expect(page.locator("#ticket-history")).to_contain_text("Nguyễn Thị Lan")

    # A forged call skipping a step is refused by the server with the Vietnamese reason.
    refused = page.evaluate("n => HCC.api('POST', '/api/console/tickets/' + n + '/status', {status: 'moi'})"
                            ".then(() => 'ok', e => e.message)", number)
    assert "Không thể chuyển" in refused
    with session_factory(database_url)() as session:
        assert session.scalars(select(Ticket.status).where(Ticket.number == number)).one() == "dang_xu_ly"
        actors = session.scalars(select(TicketEvent.actor).order_by(TicketEvent.id)).all()
        assert actors == ["citizen", "lan"]

    page.goto(f"{url}/admin")
    expect(page.locator("#error-message")).to_contain_text("không có quyền")
    page.goto(f"{url}/console#tickets")
    page.get_by_role("button", name="Đăng xuất").click()
    page.wait_for_url(f"{url}/console/login**")
    page.goto(f"{url}/console")
    expect(page).to_have_url(f"{url}/console/login?next=/console")
