"""Dialogue actions run directly (no Rasa): dossier wording, forms' parsing, escalation outside office hours."""
from __future__ import annotations

import asyncio
from datetime import datetime

import pytest
from click.testing import CliRunner
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions import handoff as handoff_actions
from actions.complaints import parse_contact
from actions.dossier_lookup import ActionConfirmPhone, ActionLookupDossier, ValidateDossierForm, status_reply, timeliness
from actions.dossiers import DossierStatus
from actions.handoff import ActionHandoff, ActionSubmitCallback, ValidateCallbackForm
from knowledge_base.office_time import office_hours_text
from actions.ratings import level_in
from bot.cli import main
from knowledge_base.models import Conversation, Handoff, Ticket

CODE = "000.20.31.H49-260908-0013"  # demo: birth registration, returned on time, phone ends 7770


def tracker(text: str = "", intent: str = "inform", slots: dict | None = None, entities: list | None = None,
            sender: str = "rest:test", client_ip: str | None = None) -> Tracker:
    message = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": entities or [],
               "metadata": {"client_ip": client_ip} if client_ip else {}}
    events = [{"event": "action", "name": "action_listen"}, {"event": "user", "text": text, "parse_data": message}]
    return Tracker(sender, slots or {}, message, events, False, None, {}, "action_listen")


def run(action, track: Tracker) -> tuple[list[str], list]:
    dispatcher = CollectingDispatcher()
    result = action.run(dispatcher, track, {})
    events = asyncio.run(result) if asyncio.iscoroutine(result) else result
    return [m.get("text") or "" for m in dispatcher.messages], events


@pytest.fixture
def demo(hcc_env):
    assert CliRunner().invoke(main, ["kb", "demo"]).exit_code == 0
    return hcc_env


def status(**changes) -> DossierStatus:
    values = dict(tracking_code=CODE, status="dang_xu_ly", received_at=datetime(2026, 11, 2, 8), due_at=datetime(2026, 11, 20, 17),
                  finished_at=None, current_step="Thẩm định", procedure_code="1.001193", procedure_name="Đăng ký khai sinh", can_verify=True)
    return DossierStatus(**{**values, **changes})


def test_a_late_dossier_gets_the_apology_and_an_on_time_one_does_not():
    assert "xin lỗi" in timeliness(status(), now=datetime(2026, 11, 26, 9)).lower()
    assert "trong hạn" in timeliness(status(), now=datetime(2026, 11, 19, 9))
    assert "xin lỗi" not in timeliness(status(finished_at=datetime(2026, 11, 19)), now=datetime(2026, 11, 26)).lower()
    assert "xin lỗi" in timeliness(status(finished_at=datetime(2026, 11, 21)), now=datetime(2026, 11, 26)).lower()


def test_status_reply_names_status_step_dates_and_never_the_applicant():
    text = status_reply(status(), now=datetime(2026, 11, 19))
    for expected in ("Đang giải quyết", "Thẩm định", "02/11/2026", "20/11/2026", "1.001193", "4 số cuối"):
        assert expected in text


def test_bad_tracking_code_is_explained_and_not_kept():
    dispatcher = CollectingDispatcher()
    result = ValidateDossierForm().validate_tracking_code("H49-12", dispatcher, tracker("H49-12"), {})
    assert result == {"tracking_code": None}
    assert "000.00.04.H49-240315-0012" in dispatcher.messages[0]["text"]
    spaced = ValidateDossierForm().validate_tracking_code("000.20.31.h49 - 260908-0013", CollectingDispatcher(), tracker(), {})
    assert spaced == {"tracking_code": CODE}


def test_lookup_then_phone_check_unlocks_the_applicant(demo):
    texts, events = run(ActionLookupDossier(), tracker(slots={"tracking_code": CODE}))
    assert "Đã trả kết quả" in texts[0] and "Nguyễn Thị Thu Hà" not in texts[0]
    assert {"event": "slot", "timestamp": None, "name": "dossier_code", "value": CODE} in events
    wrong, _ = run(ActionConfirmPhone(), tracker("1234", "confirm_phone", {"dossier_code": CODE}))
    assert "chưa khớp" in wrong[0] and "Nguyễn Thị Thu Hà" not in wrong[0]
    right, _ = run(ActionConfirmPhone(), tracker("4 số cuối 7770", "confirm_phone", {"dossier_code": CODE}))
    assert "Nguyễn Thị Thu Hà" in right[0] and "tại bộ phận một cửa" in right[0]


def test_a_message_with_two_codes_is_answered_for_one_and_names_the_other(demo):
    other = "000.21.31.H49-260910-0016"
    text = f"hồ sơ {other} và {CODE}, {CODE} sao rồi"
    found = [{"entity": "tracking_code", "value": value} for value in (other, CODE, CODE)]  # as the NLU gives them
    texts, events = run(ActionLookupDossier(), tracker(text, "lookup_dossier", {"tracking_code": CODE}, found))
    assert "Đã trả kết quả" in texts[0] and CODE in texts[0]
    assert texts[1] == f"Tin nhắn còn có mã {other}: anh/chị gửi riêng từng mã để em tra cứu tiếp."
    assert {"event": "slot", "timestamp": None, "name": "dossier_code", "value": CODE} in events
    single, _ = run(ActionLookupDossier(), tracker(f"hồ sơ {CODE}", "lookup_dossier", {"tracking_code": CODE},
                                                   [{"entity": "tracking_code", "value": CODE}]))
    assert len(single) == 1


def test_failed_lookups_are_limited_per_sender(demo):
    unknown = "000.20.31.H49-260908-0999"
    for _ in range(5):
        texts, _ = run(ActionLookupDossier(), tracker(slots={"tracking_code": unknown}, sender="rest:guesser"))
        assert "Không tìm thấy" in texts[0]
    blocked, _ = run(ActionLookupDossier(), tracker(slots={"tracking_code": CODE}, sender="rest:guesser"))
    assert "thử lại sau" in blocked[0] and "Đã trả kết quả" not in blocked[0]
    other, _ = run(ActionLookupDossier(), tracker(slots={"tracking_code": CODE}, sender="rest:someone-else"))
    assert "Đã trả kết quả" in other[0]


def test_a_new_sender_id_for_every_guess_is_still_limited_by_address(demo):
    unknown = "000.20.31.H49-260908-0999"
    for attempt in range(5):
        run(ActionLookupDossier(), tracker(slots={"tracking_code": unknown}, sender=f"rest:g{attempt}", client_ip="203.0.113.9"))
    blocked, _ = run(ActionLookupDossier(), tracker(slots={"tracking_code": CODE}, sender="rest:fresh", client_ip="203.0.113.9"))
    assert "thử lại sau" in blocked[0]


def test_outside_office_hours_a_callback_is_taken_and_stored(demo, session, monkeypatch):
    monkeypatch.setattr(handoff_actions.handoffs, "office_open", lambda *args, **kwargs: False)
    monkeypatch.setattr(handoff_actions, "holiday_today", lambda *args, **kwargs: False)
    texts, events = run(ActionHandoff(), tracker("gặp tổng đài viên", "request_human", sender="telegram:42"))
    assert "ngoài giờ" in texts[0] and events[0]["value"] is False
    monkeypatch.setattr(handoff_actions, "holiday_today", lambda *args, **kwargs: True)
    texts, events = run(ActionHandoff(), tracker("gặp tổng đài viên", "request_human", sender="telegram:43"))
    assert "ngày nghỉ lễ" in texts[0] and "gọi lại" in texts[0] and events[0]["value"] is False
    dispatcher = CollectingDispatcher()
    assert ValidateCallbackForm().validate_callback_phone("12345", dispatcher, tracker("12345"), {}) == {"callback_phone": None}
    assert "Số điện thoại chưa đúng" in dispatcher.messages[0]["text"]
    texts, _ = run(ActionSubmitCallback(), tracker(slots={"callback_phone": "0912345678", "callback_time": "sáng mai"},
                                                   sender="telegram:42"))
    ticket = session.scalars(select(Ticket)).one()
    assert ticket.kind == "callback" and ticket.contact_phone == "0912345678" and ticket.number in texts[0]
    assert ticket.preferred_time == "sáng mai"
    conversation = session.scalars(select(Conversation)).one()
    assert (conversation.channel, conversation.sender_id, conversation.state) == ("telegram", "42", "queued")
    assert session.scalars(select(Handoff)).one().status == "callback"


def test_in_office_hours_the_citizen_learns_the_queue_position(demo, session, monkeypatch):
    monkeypatch.setattr(handoff_actions.handoffs, "office_open", lambda *args, **kwargs: True)
    first, _ = run(ActionHandoff(), tracker("gặp người", "request_human", sender="rest:a"))
    second, _ = run(ActionHandoff(), tracker("gặp người", "request_human", sender="rest:b"))
    assert "vị trí số 1" in first[0] and "vị trí số 2" in second[0]
    again, _ = run(ActionHandoff(), tracker("gặp người", "request_human", sender="rest:a"))
    assert "vị trí số 1" in again[0] and len(session.scalars(select(Handoff)).all()) == 2


def test_office_hours_read_in_vietnamese(monkeypatch):
    from bot.settings import get_settings

    monkeypatch.setenv("HCC_OFFICE_HOURS", "mon-fri 07:30-11:30,13:30-17:00; sat 07:30-11:30")
    get_settings.cache_clear()
    try:
        assert office_hours_text() == "Thứ Hai–Thứ Sáu: 07:30–11:30, 13:30–17:00; Thứ Bảy: 07:30–11:30"
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize("text, level", [("không hài lòng lắm", "khong_hai_long"), ("rat hai long", "rat_hai_long"),
                                         ("Hài lòng", "hai_long"), ("tôi muốn đánh giá", None)])
def test_rating_levels_typed_by_hand(text, level):
    assert level_in(text) == level


def test_complaint_contact_reads_name_and_phone_or_anonymity():
    assert parse_contact("Tên: Nguyễn Văn An, sđt 0912 345 678") == '{"name": "Nguyễn Văn An", "phone": "0912345678"}'
    assert parse_contact("ẩn danh") == "-" and parse_contact("không") == "-"
    assert parse_contact("Nguyễn Văn An") is None


def test_a_misunderstood_message_lands_in_the_learning_inbox_once_typed_not_clicked(demo, session):
    from actions.faq import ActionFallback
    from knowledge_base.models import LearningItem

    message = tracker("zzqx thủ tục gì đó lạ", "nlu_fallback", sender="rest:learner")
    message.latest_message["intent_ranking"] = [{"name": "nlu_fallback", "confidence": 1.0}, {"name": "ask_fee", "confidence": 0.2}]
    run(ActionFallback(), message)
    run(ActionFallback(), tracker("/request_human", "nlu_fallback", sender="rest:learner"))
    [item] = session.scalars(select(LearningItem)).all()
    assert (item.kind, item.text, item.intent) == ("fallback", "zzqx thủ tục gì đó lạ", "ask_fee")
