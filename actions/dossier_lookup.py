"""Dossier status by tracking code: the code asked for and checked, failures rate-limited,
personal details only after the last four digits of the applicant's phone."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation import latest_text, unavailable
from actions.dossier_subscription import SUBSCRIBE_BUTTON, subscribe_now
from actions.dossiers import DossierStatus, dossier_source
from bot.settings import get_settings
from knowledge_base import form_input, ratelimit
from knowledge_base.dossier_labels import DELIVERY_LABELS, STATUS_LABELS
from knowledge_base.dossier_notifications import FINAL_STATUSES
from knowledge_base.db import transaction
from knowledge_base.office_time import local
from knowledge_base.tracking_code import EXAMPLE, find_tracking_codes
from nlu.phone import LAST4

FINISHED = ("da_co_ket_qua", "da_tra_ket_qua", "tu_choi")


def limiter_keys(tracker: Tracker) -> list[str]:
    """Failures count per conversation and, through the gateway, per client address: a new sender id
    for every guess must not get round the limit."""
    keys = [f"dossier:{tracker.sender_id}"]
    client = ((tracker.latest_message or {}).get("metadata") or {}).get("client_ip")
    if client:
        keys.append(f"dossier-ip:{client}")
    return keys


def check_limit(dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
    """False (and the citizen told when to retry) while any of the tracker's keys is blocked."""
    with transaction() as session:
        for key in limiter_keys(tracker):
            if ratelimit.blocked(session, key):
                dispatcher.utter_message(text=blocked_message(ratelimit.retry_after_minutes(session, key)))
                return False
    return True


def record_failure(tracker: Tracker) -> None:
    with transaction() as session:
        for key in limiter_keys(tracker):
            ratelimit.record_failure(session, key)


def blocked_message(minutes: int) -> str:
    return (f"Anh/chị đã tra cứu không thành công nhiều lần. Để bảo vệ thông tin hồ sơ, vui lòng thử lại sau "
            f"khoảng {minutes} phút, hoặc gọi đường dây nóng {get_settings().hotline}.")


def _day(moment: datetime | None) -> str:
    return f"{moment:%d/%m/%Y}" if moment else "chưa có thông tin"


def timeliness(dossier: DossierStatus, now: datetime) -> str:
    """On time or late, with the apology the center owes for a late dossier."""
    if dossier.due_at is None:
        return "Chưa có thông tin ngày hẹn trả."
    apology = (" Trung tâm thành thật xin lỗi anh/chị vì sự chậm trễ; bộ phận giải quyết sẽ gửi phiếu xin lỗi "
               "và hẹn lại ngày trả kết quả.")
    if dossier.finished_at is not None or dossier.status in FINISHED:
        finished = dossier.finished_at or now
        return "Hồ sơ được giải quyết đúng hạn." if finished <= dossier.due_at else "Hồ sơ có kết quả chậm so với ngày hẹn." + apology
    if now > dossier.due_at:
        return f"Hồ sơ đã quá hạn hẹn trả ({_day(dossier.due_at)})." + apology
    return f"Hồ sơ đang trong hạn, hẹn trả ngày {_day(dossier.due_at)}."


def status_reply(dossier: DossierStatus, now: datetime) -> str:
    lines = [f"Hồ sơ {dossier.tracking_code}"]
    if dossier.procedure_name:
        lines.append(f"Thủ tục: {dossier.procedure_name} (mã {dossier.procedure_code})")
    lines.append(f"Trạng thái: {STATUS_LABELS.get(dossier.status, dossier.status)}")
    if dossier.current_step:
        lines.append(f"Bước hiện tại: {dossier.current_step}")
    lines.append(f"Ngày tiếp nhận: {_day(dossier.received_at)}")
    lines.append(f"Ngày hẹn trả: {_day(dossier.due_at)}")
    lines.append(timeliness(dossier, now))
    if dossier.can_verify:
        lines.append("Để xem tên người nộp và hình thức nhận kết quả, anh/chị nhắn 4 số cuối số điện thoại đã đăng ký hồ sơ.")
    return "\n".join(lines)


def center_now() -> datetime:
    """Now on the center's wall clock, comparable with the imported dossier dates."""
    return local().replace(tzinfo=None)


class ValidateDossierForm(FormValidationAction):
    def name(self) -> str:
        return "validate_dossier_form"

    def validate_tracking_code(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> dict:
        found = find_tracking_codes(str(value or ""))
        if found:
            return {"tracking_code": str(found[0])}
        try:
            code = form_input.tracking_code(str(value or ""))
        except ValueError as error:
            dispatcher.utter_message(text=f"{error} Mã in trên giấy tiếp nhận và hẹn trả kết quả.")
            return {"tracking_code": None}
        return {"tracking_code": code}


class ActionLookupDossier(Action):
    def name(self) -> str:
        return "action_lookup_dossier"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        code = tracker.get_slot("tracking_code")
        reset = [SlotSet("tracking_code", None)]  # the next lookup asks again instead of reusing this code
        if not code:
            dispatcher.utter_message(response="utter_ask_tracking_code")
            return reset
        try:
            if not check_limit(dispatcher, tracker):
                return reset
            dossier = dossier_source().status(code)
            if dossier is None:
                record_failure(tracker)
                dispatcher.utter_message(text=(
                    f"Không tìm thấy hồ sơ có mã {code}. Anh/chị kiểm tra lại mã trên giấy tiếp nhận (dạng {EXAMPLE}); "
                    f"hồ sơ vừa nộp có thể cần vài giờ để cập nhật."))
                return reset
        except Exception:
            dispatcher.utter_message(text=unavailable())
            return reset
        dispatcher.utter_message(text=status_reply(dossier, center_now()))
        others = [other for other in dict.fromkeys(tracker.get_latest_entity_values("tracking_code")) if other != code]
        if others:  # one dossier a turn: the phone check that follows must know which one it unlocks
            dispatcher.utter_message(text=f"Tin nhắn còn có mã {', '.join(others)}: anh/chị gửi riêng từng mã để em tra cứu tiếp.")
        return reset + [SlotSet("dossier_code", dossier.tracking_code)]


class ActionConfirmPhone(Action):
    def name(self) -> str:
        return "action_confirm_phone"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        code = tracker.get_slot("dossier_code")
        digits = LAST4.findall(latest_text(tracker))
        if not code:
            dispatcher.utter_message(text="Anh/chị muốn tra cứu hồ sơ nào? Vui lòng nhắn mã hồ sơ trước, ví dụ " + EXAMPLE + ".")
            return []
        if len(digits) != 1:
            dispatcher.utter_message(text="Anh/chị vui lòng nhắn đúng 4 chữ số cuối của số điện thoại đã đăng ký hồ sơ.")
            return []
        try:
            if not check_limit(dispatcher, tracker):
                return []
            details = dossier_source().details(code, digits[0])
            if details is None:
                record_failure(tracker)
                dispatcher.utter_message(text="4 số cuối chưa khớp với số điện thoại đăng ký hồ sơ. Anh/chị kiểm tra lại giúp em.")
                return []
        except Exception:
            dispatcher.utter_message(text=unavailable())
            return []
        delivery = DELIVERY_LABELS.get(details.result_delivery or "", "chưa có thông tin")
        text = (f"Đã xác nhận. Hồ sơ {code}\nNgười nộp: {details.applicant_name or 'chưa có thông tin'}\n"
                f"Hình thức nhận kết quả: {delivery}")
        verified = [SlotSet("verified_dossier", code), SlotSet("subscribe_pending", False)]
        if tracker.get_slot("subscribe_pending"):  # the citizen asked to be notified before the check
            dispatcher.utter_message(text=text)
            try:
                subscribe_now(dispatcher, tracker, code)
            except Exception:
                dispatcher.utter_message(text=unavailable())
            return verified
        status = dossier_source().status(code)
        still_moving = status is not None and status.status not in FINAL_STATUSES
        dispatcher.utter_message(text=text, buttons=[SUBSCRIBE_BUTTON] if still_moving else [])
        return verified

