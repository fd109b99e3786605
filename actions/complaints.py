"""Complaints and feedback (phản ánh, kiến nghị): the form, the stored ticket, its progress."""
from __future__ import annotations

import json
import re
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation import conversation_for, entity, latest_intent, latest_text, unavailable
from bot.settings import get_settings
from knowledge_base import tickets
from knowledge_base.db import transaction
from knowledge_base.office_time import local
from knowledge_base.textfold import fold
from knowledge_base.tracking_code import find_tracking_codes
from nlu.phone import find_phone_numbers

FORM_SLOTS = ("complaint_text", "complaint_reference", "complaint_contact")
NONE = "-"
# Words that only announce a complaint: what is left after them is its content, when long enough.
ANNOUNCING = set(fold("tôi em mình muốn cần gửi phản ánh kiến nghị khiếu nại góp ý về cho hỏi ạ ad với").split())
SKIP_WORDS = ("khong lien quan", "khong co", "bo qua", "khong")
ANONYMOUS_WORDS = ("an danh", "giau ten", "khong de lai", "khong muon")


def content_words(text: str) -> list[str]:
    return [word for word in fold(text).split() if word not in ANNOUNCING]


def parse_reference(text: str) -> str:
    """The dossier or procedure a complaint is about, as a slot value: JSON, or NONE."""
    folded = fold(text).strip(" .!")
    if not folded or folded in SKIP_WORDS:
        return NONE
    codes = find_tracking_codes(text)
    if codes:
        return json.dumps({"tracking_code": str(codes[0])})
    try:
        from knowledge_base.catalogue import shared_search

        hits = shared_search().search(text, top=1)
    except Exception:
        hits = []
    if hits and hits[0].score >= 0.5:
        return json.dumps({"procedure_code": hits[0].code, "procedure_name": hits[0].name})
    return json.dumps({"note": text.strip()})


def parse_contact(text: str) -> str | None:
    """'Nguyễn Văn An 0912345678' → JSON name and phone; 'ẩn danh' → NONE; no valid phone → None."""
    folded = fold(text).strip(" .!")
    if folded in ("khong", "khong a", "thoi") or any(word in folded for word in ANONYMOUS_WORDS):
        return NONE
    phones = find_phone_numbers(text)
    if not phones:
        return None
    phone = phones[0]
    name = (text[:phone.start] + " " + text[phone.end:])
    name = re.sub(r"(?i)\b(tên|ten|sđt|sdt|số điện thoại|so dien thoai|là|la)\b|[,:;.\-]", " ", name)
    return json.dumps({"name": " ".join(name.split()) or None, "phone": phone.digits}, ensure_ascii=False)


class ValidateComplaintForm(FormValidationAction):
    def name(self) -> str:
        return "validate_complaint_form"

    async def extract_complaint_text(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> dict:
        text = latest_text(tracker)
        if tracker.get_slot("requested_slot") == "complaint_text":
            return {} if latest_intent(tracker) in ("deny", "request_human") else {"complaint_text": text}
        # The message that opened the form may already say what happened.
        if tracker.get_slot("requested_slot") is None and latest_intent(tracker) == "complain" and len(content_words(text)) >= 4:
            return {"complaint_text": text}
        return {}

    def validate_complaint_text(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> dict:
        if len(str(value or "").split()) < 3:
            dispatcher.utter_message(text="Anh/chị mô tả cụ thể hơn giúp em (ít nhất vài từ: sự việc, thời gian, nơi xảy ra).")
            return {"complaint_text": None}
        return {"complaint_text": str(value).strip()[:4000]}

    def validate_complaint_reference(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> dict:
        return {"complaint_reference": parse_reference(str(value or ""))}

    def validate_complaint_contact(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> dict:
        contact = parse_contact(str(value or ""))
        if contact is None:
            dispatcher.utter_message(text=(
                "Em chưa thấy số điện thoại hợp lệ. Anh/chị nhắn họ tên và số di động 10 chữ số "
                "(ví dụ: Nguyễn Văn An 0912 345 678), hoặc chọn Ẩn danh."))
            return {"complaint_contact": None}
        return {"complaint_contact": contact}


def _json(value: str | None) -> dict:
    return json.loads(value) if value and value != NONE else {}


class ActionSubmitComplaint(Action):
    def name(self) -> str:
        return "action_submit_complaint"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        reference = _json(tracker.get_slot("complaint_reference"))
        contact = _json(tracker.get_slot("complaint_contact"))
        content = tracker.get_slot("complaint_text") or ""
        if reference.get("note"):
            content += f"\n(Liên quan: {reference['note']})"
        try:
            with transaction() as session:
                ticket = tickets.open_ticket(
                    session, "complaint", content,
                    procedure_code=reference.get("procedure_code"), tracking_code=reference.get("tracking_code"),
                    contact_name=contact.get("name"), contact_phone=contact.get("phone"),
                    conversation_id=conversation_for(session, tracker).id,
                )
                number, due = ticket.number, local(ticket.due_at)
        except ValueError as error:
            dispatcher.utter_message(text=str(error))
            return [SlotSet(slot, None) for slot in FORM_SLOTS]
        except Exception:
            dispatcher.utter_message(text="Xin lỗi, em chưa lưu được phản ánh. " + unavailable())
            return [SlotSet(slot, None) for slot in FORM_SLOTS]
        answer = "cán bộ sẽ liên hệ trả lời anh/chị" if contact else "kết quả xử lý sẽ được cập nhật theo số phản ánh"
        dispatcher.utter_message(text=(
            f"Em đã ghi nhận phản ánh số {number} và chuyển tới bộ phận tiếp nhận phản ánh của Trung tâm; "
            f"{answer} chậm nhất ngày {due:%d/%m/%Y} ({get_settings().complaint_response_days} ngày làm việc). "
            f"Anh/chị có thể hỏi «phản ánh {number} đến đâu rồi» để theo dõi."))
        return [SlotSet(slot, None) for slot in FORM_SLOTS]


class ActionTicketStatus(Action):
    def name(self) -> str:
        return "action_ticket_status"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        number = entity(tracker, "ticket_number") or next(iter(tickets.find_ticket_numbers(latest_text(tracker))), None)
        if not number:
            dispatcher.utter_message(text="Anh/chị cho em số phản ánh, dạng PA-261126-0007, để em tra cứu.")
            return []
        try:
            with transaction() as session:
                ticket = tickets.get_ticket(session, number)
                found = ticket and (ticket.status, local(ticket.created_at), local(ticket.due_at) if ticket.due_at else None)
        except Exception:
            dispatcher.utter_message(text=unavailable())
            return []
        if not found:
            dispatcher.utter_message(text=f"Không tìm thấy phản ánh số {number}. Anh/chị kiểm tra lại số trong tin nhắn xác nhận.")
            return []
        status, created, due = found
        lines = [f"Phản ánh {number}", f"Tình trạng: {tickets.STATUS_LABELS.get(status, status)}",
                 f"Ngày tiếp nhận: {created:%d/%m/%Y}"]
        if due and status in ("moi", "dang_xu_ly"):
            lines.append(f"Hạn trả lời: {due:%d/%m/%Y}")
        dispatcher.utter_message(text="\n".join(lines))
        return []
