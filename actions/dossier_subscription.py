"""Subscribing to a dossier's status changes (only after the phone-digits check) and stopping with /huy."""
from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation import button, entity, unavailable
from actions.dossiers import dossier_source
from knowledge_base import conversations, dossier_subscriptions
from knowledge_base.db import transaction
from knowledge_base.dossier_labels import STATUS_LABELS
from knowledge_base.dossier_notifications import FINAL_STATUSES, UNSUBSCRIBE_BUTTON
from knowledge_base.tracking_code import EXAMPLE, find_tracking_codes

SUBSCRIBE_PAYLOAD = "/subscribe_dossier"
SUBSCRIBE_BUTTON = button("Báo cho tôi khi có kết quả", SUBSCRIBE_PAYLOAD)


def subscribe_now(dispatcher: CollectingDispatcher, tracker: Tracker, code: str) -> None:
    """Start notifications of ``code`` for this conversation; the caller has checked the phone digits this session."""
    dossier = dossier_source().status(code)
    if dossier is None:
        dispatcher.utter_message(text=f"Không tìm thấy hồ sơ có mã {code}.")
        return
    if dossier.status in FINAL_STATUSES:
        dispatcher.utter_message(text=(f"Hồ sơ {code} đã kết thúc («{STATUS_LABELS[dossier.status]}»), "
                                       f"sẽ không còn thay đổi trạng thái nên không cần theo dõi."))
        return
    channel, sender = conversations.split_sender_id(tracker.sender_id)
    with transaction() as session:
        started = dossier_subscriptions.subscribe(session, code, channel, sender, dossier.status)
    label = STATUS_LABELS.get(dossier.status, dossier.status)
    if started:
        text = (f"Đã đăng ký theo dõi hồ sơ {code} (hiện tại: {label}). Em sẽ nhắn anh/chị ngay khi hồ sơ chuyển "
                f"trạng thái, và khi có kết quả sẽ báo nơi, cách nhận. Nhắn /huy để ngừng nhận thông báo.")
    else:
        text = f"Anh/chị đã đăng ký theo dõi hồ sơ {code} rồi (hiện tại: {label}). Nhắn /huy để ngừng nhận thông báo."
    dispatcher.utter_message(text=text, buttons=[UNSUBSCRIBE_BUTTON])


class ActionSubscribeDossier(Action):
    def name(self) -> str:
        return "action_subscribe_dossier"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        named = find_tracking_codes(str(entity(tracker, "tracking_code") or ""))
        code = str(named[0]) if named else tracker.get_slot("dossier_code")
        if not code:
            dispatcher.utter_message(text=(f"Anh/chị muốn theo dõi hồ sơ nào? Vui lòng nhắn “tra cứu hồ sơ” kèm mã hồ sơ, "
                                           f"ví dụ {EXAMPLE}, rồi xác nhận 4 số cuối số điện thoại đăng ký hồ sơ."))
            return []
        if tracker.get_slot("verified_dossier") != code:
            # The same check as the detailed lookup: whoever only knows a code must not follow someone's dossier.
            dispatcher.utter_message(text=(f"Để đăng ký nhận thông báo về hồ sơ {code}, anh/chị vui lòng nhắn "
                                           f"4 số cuối số điện thoại đã đăng ký hồ sơ."))
            return [SlotSet("dossier_code", code), SlotSet("subscribe_pending", True)]
        try:
            subscribe_now(dispatcher, tracker, code)
        except Exception:
            dispatcher.utter_message(text=unavailable())
        return [SlotSet("subscribe_pending", False)]


class ActionUnsubscribe(Action):
    def name(self) -> str:
        return "action_unsubscribe"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        named = find_tracking_codes(str(entity(tracker, "tracking_code") or ""))
        channel, sender = conversations.split_sender_id(tracker.sender_id)
        try:
            with transaction() as session:
                stopped = dossier_subscriptions.unsubscribe(session, channel, sender, str(named[0]) if named else None)
        except Exception:
            dispatcher.utter_message(text=unavailable())
            return []
        if stopped:
            dispatcher.utter_message(text=f"Đã ngừng gửi thông báo về hồ sơ {', '.join(stopped)}. "
                                          f"Anh/chị vẫn có thể tra cứu hồ sơ bất cứ lúc nào.")
        else:
            dispatcher.utter_message(text="Anh/chị chưa đăng ký theo dõi hồ sơ nào nên không có thông báo cần hủy.")
        return [SlotSet("subscribe_pending", False)]
