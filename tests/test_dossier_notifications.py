"""Dossier status notifications: subscription behind the phone check, change detection, the outbox on every channel."""
from __future__ import annotations

import asyncio
import time

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from starlette.testclient import TestClient

from actions.dossier_lookup import ActionConfirmPhone
from actions.dossier_subscription import ActionSubscribeDossier, ActionUnsubscribe
from actions.dossiers import KnowledgeBaseDossiers
from bot import dossier_notifier
from bot.app import create_app
from bot.cli import main
from bot.console import citizen
from bot.settings import get_settings
from fake_telegram import TOKEN, fake_telegram
from fake_zalo import APP_ID, APP_SECRET, FIRST_ACCESS, FIRST_REFRESH, OA_SECRET, fake_zalo
from knowledge_base import catalogue, dossier_notifications as outbox, dossier_subscriptions
from knowledge_base.db import session_factory, transaction
from knowledge_base.dossier_status import advance
from knowledge_base.models import Conversation, DossierNotification, DossierSubscription, Message
from knowledge_base.records import DossierRecord
from knowledge_base.store import upsert_dossiers
from test_dialogue_actions import run, tracker

pytestmark = pytest.mark.timeout(60)

CODE = "000.40.25.H49-261102-0030"  # demo: dang_xu_ly, a phone on file, result at the counter


@pytest.fixture
def demo(hcc_env, monkeypatch):
    monkeypatch.setenv("HCC_NOTIFY_RETRY_SECONDS", "0")  # a failed try is due again at once
    get_settings.cache_clear()
    assert CliRunner().invoke(main, ["kb", "demo"]).exit_code == 0
    return hcc_env


def dossier(code: str = CODE):
    with session_factory()() as session:
        return catalogue.get_dossier(session, code)


def subscribe(channel: str, sender: str, code: str = CODE) -> None:
    with transaction() as session:
        assert dossier_subscriptions.subscribe(session, code, channel, sender, catalogue.get_dossier(session, code).status)


def notifications() -> list[DossierNotification]:
    with session_factory()() as session:
        return list(session.scalars(select(DossierNotification).order_by(DossierNotification.id)))


def stored_notices(channel: str, sender: str) -> list[Message]:
    with session_factory()() as session:
        return list(session.scalars(select(Message).join(Conversation).where(
            Conversation.channel == channel, Conversation.sender_id == sender, Message.external_id.like("notify:%"))))


def test_demo_dossier_is_what_the_tests_assume(demo):
    found = dossier()
    assert (found.status, found.result_delivery) == ("dang_xu_ly", "quay") and found.phone_last4


# --- subscribing -------------------------------------------------------------------------------

def test_subscribing_asks_for_the_phone_digits_first_and_a_wrong_answer_subscribes_nothing(demo):
    texts, events = run(ActionSubscribeDossier(), tracker("theo dõi hồ sơ này", "subscribe_dossier", {"dossier_code": CODE}))
    assert "4 số cuối" in texts[0]
    assert {"event": "slot", "name": "subscribe_pending", "value": True, "timestamp": None} in events
    wrong = "0000" if dossier().phone_last4 != "0000" else "1111"
    texts, events = run(ActionConfirmPhone(), tracker(wrong, "confirm_phone", {"dossier_code": CODE, "subscribe_pending": True}))
    assert "chưa khớp" in texts[0]
    with session_factory()() as session:
        assert dossier_subscriptions.active_codes(session) == []


def test_the_right_digits_subscribe_when_asked_before(demo):
    digits = dossier().phone_last4
    texts, events = run(ActionConfirmPhone(), tracker(digits, "confirm_phone", {"dossier_code": CODE, "subscribe_pending": True},
                                                      sender="telegram:777"))
    assert "Đã xác nhận" in texts[0] and "Đã đăng ký theo dõi hồ sơ " + CODE in texts[1]
    with session_factory()() as session:
        assert dossier_subscriptions.active_codes(session, "telegram", "777") == [CODE]


def test_the_phone_check_offers_the_button_and_only_the_verified_dossier_can_be_subscribed(demo):
    dispatcher_texts, events = run(ActionConfirmPhone(), tracker(dossier().phone_last4, "confirm_phone", {"dossier_code": CODE}))
    verified = {e["name"]: e["value"] for e in events}["verified_dossier"]
    assert verified == CODE
    other = "000.20.31.H49-260908-0013"
    texts, _ = run(ActionSubscribeDossier(), tracker("theo dõi", "subscribe_dossier", {"dossier_code": other, "verified_dossier": CODE}))
    assert "4 số cuối" in texts[0]
    texts, _ = run(ActionSubscribeDossier(), tracker("theo dõi", "subscribe_dossier", {"dossier_code": CODE, "verified_dossier": CODE}))
    assert "Đã đăng ký theo dõi" in texts[0]
    texts, _ = run(ActionSubscribeDossier(), tracker("theo dõi", "subscribe_dossier", {"dossier_code": CODE, "verified_dossier": CODE}))
    assert "đã đăng ký theo dõi hồ sơ" in texts[0]  # once is enough
    with session_factory()() as session:
        assert session.scalar(select(func.count()).select_from(DossierSubscription)) == 1


def test_unsubscribe_stops_pending_and_future_notifications(demo):
    subscribe("rest", "test")
    with transaction() as session:
        advance(session, CODE)
    assert [n.state for n in notifications()] == ["pending"]
    texts, _ = run(ActionUnsubscribe(), tracker("/huy", "unsubscribe"))
    assert CODE in texts[0] and "ngừng" in texts[0]
    assert [n.state for n in notifications()] == ["cancelled"]
    with transaction() as session:
        advance(session, CODE)
    assert len(notifications()) == 1
    texts, _ = run(ActionUnsubscribe(), tracker("/huy", "unsubscribe"))
    assert "chưa đăng ký" in texts[0]


# --- change detection --------------------------------------------------------------------------

def test_a_change_is_recorded_once_however_often_it_is_seen(demo):
    subscribe("widget", "conv_notify_widget_0001")
    with transaction() as session:
        assert advance(session, CODE) == (CODE, "dang_xu_ly", "da_co_ket_qua")
    source = KnowledgeBaseDossiers()
    for _ in range(3):  # the sync job sees the same state again and again
        dossier_notifier.sync_once(source, None)
    [notice] = notifications()
    assert notice.status == "da_co_ket_qua"
    assert "Đã có kết quả" in notice.text and "nhận trực tiếp tại bộ phận một cửa" in notice.text and "/huy" in notice.text


def test_an_import_that_changes_the_status_is_found_by_the_sync_job(demo):
    subscribe("rest", "someone")
    cursor = dossier_notifier.sync_once(KnowledgeBaseDossiers(), None)
    assert notifications() == []
    found = catalogue.dossier_dict(dossier())
    record = DossierRecord(**{k: v for k, v in found.items() if k not in ("phone_last4",)}, applicant_phone=None)
    record.status, record.result_delivery = "cho_bo_sung", found["result_delivery"]
    with transaction() as session:
        upsert_dossiers(session, [record])
    dossier_notifier.sync_once(KnowledgeBaseDossiers(), cursor)
    [notice] = notifications()
    assert notice.status == "cho_bo_sung" and "bổ sung" in notice.text


def test_a_final_status_ends_the_subscription(demo):
    subscribe("rest", "someone")
    with transaction() as session:
        advance(session, CODE), advance(session, CODE)
    assert [n.status for n in notifications()] == ["da_co_ket_qua", "da_tra_ket_qua"]
    assert "thông báo cuối cùng" in notifications()[-1].text
    with session_factory()() as session:
        assert dossier_subscriptions.active_codes(session) == []


# --- delivery ----------------------------------------------------------------------------------

def test_a_crash_between_send_and_mark_stores_the_message_once_and_is_retried(demo, monkeypatch):
    subscribe("widget", "conv_notify_widget_0002")
    with transaction() as session:
        advance(session, CODE)
    [notice] = notifications()
    with transaction() as session:  # the first try stores and sends, then the process dies before marking
        assert outbox.claim(session, notice.id) is not None
    pushed = []

    async def push(app, channel, sender, messages):
        pushed.append((channel, sender, [m["text"] for m in messages]))
        return True

    monkeypatch.setattr(citizen, "send", push)
    assert asyncio.run(dossier_notifier.send_due(None)) == 1
    assert asyncio.run(dossier_notifier.send_due(None)) == 0  # sent: never again for this change
    assert [n.state for n in notifications()] == ["sent"] and notifications()[0].attempts == 2
    assert len(stored_notices("widget", "conv_notify_widget_0002")) == 1
    assert pushed == [("widget", "conv_notify_widget_0002", [notice.text])]


def test_a_failed_delivery_is_retried_then_given_up_and_counted(demo, monkeypatch):
    monkeypatch.setenv("HCC_NOTIFY_ATTEMPTS", "3")
    get_settings.cache_clear()
    subscribe("telegram", "999")
    with transaction() as session:
        advance(session, CODE)
    outcomes = iter([False, True])

    async def flaky(app, channel, sender, messages):
        return next(outcomes)

    monkeypatch.setattr(citizen, "send", flaky)
    assert asyncio.run(dossier_notifier.send_due(None)) == 0
    assert notifications()[0].state == "pending" and notifications()[0].last_error
    assert asyncio.run(dossier_notifier.send_due(None)) == 1
    assert notifications()[0].state == "sent" and notifications()[0].attempts == 2

    with transaction() as session:
        advance(session, CODE)  # da_tra_ket_qua: a second notification, which never gets through

    async def down(app, channel, sender, messages):
        raise ConnectionError("Telegram unreachable")

    monkeypatch.setattr(citizen, "send", down)
    for _ in range(3):
        asyncio.run(dossier_notifier.send_due(None))
    assert [n.state for n in notifications()] == ["sent", "failed"]
    assert len(stored_notices("telegram", "999")) == 2  # stored once each, whatever the tries
    with session_factory()() as session:
        assert outbox.counts(session) == {"pending": 0, "sent": 1, "failed": 1, "cancelled": 0}


def test_the_backoff_doubles(demo, monkeypatch):
    monkeypatch.setenv("HCC_NOTIFY_RETRY_SECONDS", "30")
    get_settings.cache_clear()
    assert [outbox.backoff(n).total_seconds() for n in (1, 2, 3, 10)] == [30, 60, 120, 3600]


@pytest.fixture
def channels(demo, monkeypatch):
    """The gateway with Telegram and Zalo pointed at their fakes, the notifier ticking fast."""
    with fake_telegram() as bot_api, fake_zalo() as zalo_api:
        monkeypatch.delenv("TELEGRAM_WEBHOOK_URL", raising=False)
        for name, value in {"TELEGRAM_BOT_TOKEN": TOKEN, "HCC_TELEGRAM_API_URL": bot_api.api_url, "HCC_TELEGRAM_POLL_TIMEOUT": 1,
                            "ZALO_APP_ID": APP_ID, "ZALO_APP_SECRET": APP_SECRET, "ZALO_OA_SECRET": OA_SECRET,
                            "ZALO_ACCESS_TOKEN": FIRST_ACCESS, "ZALO_REFRESH_TOKEN": FIRST_REFRESH,
                            "HCC_ZALO_API_URL": zalo_api.api_url, "HCC_ZALO_OAUTH_URL": zalo_api.api_url,
                            "HCC_NOTIFY_TICK_SECONDS": 0.1, "HCC_DOSSIER_SYNC_SECONDS": 0.2}.items():
            monkeypatch.setenv(name, str(value))
        get_settings.cache_clear()
        yield bot_api, zalo_api
        get_settings.cache_clear()


def wait_until(condition, explain, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout} s: {explain()}")


def test_every_channel_gets_its_notification_once(channels):
    bot_api, zalo_api = channels
    subscribe("telegram", "5550077")
    subscribe("zalo", "8123456789")
    subscribe("widget", "conv_notify_widget_0003")
    with TestClient(create_app()) as client:
        with client.websocket_connect("/ws/widget") as ws:
            ws.send_json({"type": "hello", "conversation": "conv_notify_widget_0003", "after": 0})
            while ws.receive_json()["type"] != "ready":
                pass
            bot_api.wait_for("getUpdates")
            assert CliRunner().invoke(main, ["kb", "demo-advance", CODE]).exit_code == 0
            frame = ws.receive_json()
            while frame["type"] != "message":
                frame = ws.receive_json()
            assert frame["author"] == "bot" and f"Hồ sơ {CODE}" in frame["text"] and "Đã có kết quả" in frame["text"]
            assert frame["buttons"] == [outbox.UNSUBSCRIBE_BUTTON]
            [telegram_sent] = bot_api.wait_for("sendMessage")
            assert telegram_sent["chat_id"] in (5550077, "5550077") and "Đã có kết quả" in telegram_sent["text"]
            [zalo_sent] = zalo_api.wait_for_sends(1)
            assert zalo_sent["recipient"]["user_id"] == "8123456789" and "Đã có kết quả" in str(zalo_sent["message"])
            wait_until(lambda: [n.state for n in notifications()] == ["sent"] * 3, lambda: [(n.subscription_id, n.change, n.status, n.state) for n in notifications()])
            time.sleep(0.5)  # more ticks of both loops: nothing is sent again
            assert len(bot_api.calls_to("sendMessage")) == 1 and len(zalo_api.sends()) == 1


def test_admin_counts_need_an_admin(demo):
    from knowledge_base.staff import add_staff
    from knowledge_base.staff_sessions import open_session

    subscribe("rest", "someone")
    with transaction() as session:
        advance(session, CODE)
        admin = open_session(session, add_staff(session, "hoa", "admin", "mat-khau-dai-du-10", full_name="Lê Thị Hoa"), "t")
        operator = open_session(session, add_staff(session, "lan", "operator", "mat-khau-dai-du-10", full_name="Trần Thị Lan"), "t")
    client = TestClient(create_app(), base_url="http://testserver")
    assert client.get("/api/admin/dossier-notifications").status_code == 401
    client.cookies.set("hcc_staff", operator.token)
    assert client.get("/api/admin/dossier-notifications").status_code == 403
    client.cookies.set("hcc_staff", admin.token)
    answer = client.get("/api/admin/dossier-notifications?days=7")
    assert answer.status_code == 200
    assert answer.json() == {"pending": 1, "sent": 0, "failed": 0, "cancelled": 0, "subscribed_dossiers": 1, "days": 7}
    assert client.get("/api/admin/dossier-notifications?days=abc").status_code == 400


def test_demo_advance_says_what_moved_and_refuses_a_finished_dossier(demo):
    result = CliRunner().invoke(main, ["kb", "demo-advance", CODE])
    assert result.exit_code == 0 and "Đang giải quyết → Đã có kết quả, chờ trả" in result.output
    finished = CliRunner().invoke(main, ["kb", "demo-advance", "000.20.31.H49-260908-0013"])
    assert finished.exit_code == 2 and "đã kết thúc" in finished.output
