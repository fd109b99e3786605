"""Short Vietnamese replies about one procedure record, one per question type (pure functions).

Every fact stated is copied from the record; what the record lacks is said to be missing, with
the hotline. Each reply has a phone-sized form and, when that form leaves something out, a
"Xem đầy đủ" button whose payload asks the same question again with ``detail = full``.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Callable, Iterable

from knowledge_base.records import CHANNEL_LABELS, Channel, Document, ProcedureRecord

QUESTION_INTENTS = {
    "documents": "ask_documents",
    "fee": "ask_fee",
    "processing_time": "ask_processing_time",
    "where": "ask_where",
    "online": "ask_online",
    "overview": "ask_procedure",
}
QUESTION_TYPES = tuple(QUESTION_INTENTS)
FULL = "full"
MORE_TITLE = "Xem đầy đủ"
NATIONAL_PORTAL = "https://dichvucong.gov.vn"  # where every truc_tuyen channel of the catalogue is served

# Phone-sized limits: a chat bubble a citizen reads without scrolling far.
SHORT_DOCUMENTS = 6
SHORT_ITEM_CHARS = 120
SHORT_FIELD_CHARS = 220
SHORT_FEE_CHARS = 150
SHORT_STEP_CHARS = 110
SHORT_FAQ_CHARS = 360


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: tuple[dict, ...] = ()

    def message(self) -> dict:
        """Keyword arguments for ``dispatcher.utter_message``."""
        return {"text": self.text, "buttons": list(self.buttons)} if self.buttons else {"text": self.text}


def payload(intent: str, **entities: str) -> str:
    """A button payload Rasa parses without NLU: ``/intent{"entity": "value"}``."""
    return f"/{intent}{json.dumps(entities, ensure_ascii=False)}" if entities else f"/{intent}"


def heading(record: ProcedureRecord) -> str:
    return f"{' '.join(record.name.split())} (mã {record.code})"


def short_name(record_name: str, limit: int = 40) -> str:
    """A button title: the name without the leading "Thủ tục", cut at a word."""
    name = re.sub(r"^thủ tục\s+", "", record_name.strip(), flags=re.IGNORECASE)
    return trim(name[:1].upper() + name[1:], limit)


def trim(text: str, limit: int) -> str:
    """``text`` cut at a word boundary to at most ``limit`` characters, with "…" when cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:.-–(")
    return cut + "…"


def missing(what: str, hotline: str) -> str:
    return f"Hiện chưa có thông tin về {what} của thủ tục này. Anh/chị vui lòng gọi đường dây nóng {hotline} để được hướng dẫn."


def hotline_note(hotline: str) -> str:
    return f"Cần hỗ trợ thêm, anh/chị gọi đường dây nóng {hotline}."


def quantity(document: Document) -> str | None:
    """"1 bản chính, 1 bản sao" from the numbers, else the published wording, else nothing."""
    parts = []
    if document.original_copies:
        parts.append(f"{document.original_copies} bản chính")
    if document.copies:
        parts.append(f"{document.copies} bản sao")
    if parts:
        return ", ".join(parts)
    return document.quantity_text.strip() if document.quantity_text and document.quantity_text.strip() else None


def money(amount: int) -> str:
    return "Miễn phí" if amount == 0 else f"{amount:,} đồng".replace(",", ".")


def fee_text(channel: Channel) -> str | None:
    """The fee as published; only the amount when the record has no wording."""
    if channel.fee and channel.fee.strip():
        return " ".join(channel.fee.split())
    return money(channel.fee_amount) if channel.fee_amount is not None else None


def time_text(channel: Channel) -> str | None:
    """Statutory time as published, with the center's commitment beside it when known."""
    statutory = channel.processing_time.strip() if channel.processing_time and channel.processing_time.strip() else None
    if statutory and not channel.time_unit and re.fullmatch(r"[\d.,]+", statutory):
        statutory = f"{statutory} (nguồn công bố không ghi đơn vị thời gian)"
    committed = channel.committed_time.strip() if channel.committed_time and channel.committed_time.strip() else None
    if statutory and committed:
        return f"theo quy định {statutory}; Trung tâm cam kết {committed}"
    if committed:
        return f"Trung tâm cam kết {committed} (thời hạn theo quy định: chưa có thông tin)"
    return statutory


def by_channel(channels: Iterable[Channel], value: Callable[[Channel], str | None]) -> list[tuple[str, list[str | None]]]:
    """(channel label, distinct values in record order) per kind of channel; None = not stated."""
    grouped: dict[str, list[str | None]] = {}
    for channel in channels:
        values = grouped.setdefault(channel.kind, [])
        found = value(channel)
        if found not in values:
            values.append(found)
    return [(CHANNEL_LABELS.get(kind, kind), [v for v in values if v] or [None]) for kind, values in grouped.items()]


def per_channel_lines(groups: list[tuple[str, list[str | None]]], limit: int | None) -> list[str]:
    """One line per distinct answer, naming the channels it holds for (one line when all agree)."""

    def say(values: list[str | None]) -> str:
        if values == [None]:
            return "chưa có thông tin"
        shown = [trim(v, limit) if limit else v for v in values if v]
        return " hoặc ".join(shown) + (" (tùy trường hợp)" if len(shown) > 1 else "")

    alike: dict[tuple, list[str]] = {}
    for label, values in groups:
        alike.setdefault(tuple(values), []).append(label)
    if len(alike) == 1 and len(groups) > 1:
        return [f"Mọi hình thức nộp ({', '.join(label for label, _ in groups)}): {say(groups[0][1])}"]
    return [f"- {', '.join(labels)}: {say(list(values))}" for values, labels in alike.items()]


def _reply(record: ProcedureRecord, question_type: str, short: str, full_text: str, full: bool,
           extra_buttons: tuple[dict, ...] = ()) -> Reply:
    """The full text when asked for it; else the short one, offering the rest when it differs."""
    if full or short == full_text:
        return Reply(full_text if full else short, extra_buttons)
    more = {"title": MORE_TITLE, "payload": payload(QUESTION_INTENTS[question_type], procedure=record.code, detail=FULL)}
    return Reply(short, (*extra_buttons, more))


def documents(record: ProcedureRecord, hotline: str, full: bool = False) -> Reply:
    """Numbered papers with quantities; the first few on a phone, all on request."""
    if not record.documents:
        return Reply(f"{heading(record)}\n{missing('thành phần hồ sơ', hotline)}")

    def item(number: int, document: Document, whole: bool) -> str:
        name = " ".join(document.name.split()) if whole else trim(document.name, SHORT_ITEM_CHARS)
        line = f"{number}. {name}"
        count = quantity(document)
        if count:
            line += f" – {count}"
        if whole and document.template:
            line += f" (mẫu: {document.template.strip()})"
        return line

    total = len(record.documents)
    title = f"Thành phần hồ sơ ({total} loại giấy tờ) – {heading(record)}:"
    full_text = "\n".join([title, *(item(i, d, True) for i, d in enumerate(record.documents, 1))])
    shown = [item(i, d, False) for i, d in enumerate(record.documents[:SHORT_DOCUMENTS], 1)]
    rest = total - len(shown)
    if rest:
        shown.append(f"… và {rest} giấy tờ khác, bấm «{MORE_TITLE}» để xem hết.")
    return _reply(record, "documents", "\n".join([title, *shown]), full_text, full)


def fee(record: ProcedureRecord, hotline: str, full: bool = False) -> Reply:
    """The fee as published, per submission channel when the channels differ."""
    groups = by_channel(record.channels, fee_text)
    if all(values == [None] for _, values in groups):
        return Reply(f"{heading(record)}\n{missing('phí, lệ phí', hotline)}")

    def text(limit: int | None) -> str:
        lines = [f"Phí, lệ phí – {heading(record)}:", *per_channel_lines(groups, limit)]
        if any(values == [None] for _, values in groups):
            lines.append(hotline_note(hotline))
        return "\n".join(lines)

    return _reply(record, "fee", text(SHORT_FEE_CHARS), text(None), full)


def processing_time(record: ProcedureRecord, hotline: str, full: bool = False) -> Reply:
    """Time per submission channel; the center's commitment beside the statutory time."""
    groups = by_channel(record.channels, time_text)
    if all(values == [None] for _, values in groups):
        return Reply(f"{heading(record)}\n{missing('thời hạn giải quyết', hotline)}")
    lines = [f"Thời hạn giải quyết – {heading(record)}:", *per_channel_lines(groups, None)]
    if any(values == [None] for _, values in groups):
        lines.append(hotline_note(hotline))
    short = "\n".join(lines)
    # Several times for one channel depend on the case: the published descriptions say which.
    several = any(len(values) > 1 for _, values in groups)
    cases = [
        f"- {CHANNEL_LABELS.get(c.kind, c.kind)}, {time_text(c)}: {' '.join(c.description.split())}"
        for c in record.channels
        if several and c.description and time_text(c)
    ]
    full_text = "\n".join([short, "Chi tiết theo trường hợp:", *cases]) if cases else short
    return _reply(record, "processing_time", short, full_text, full)


def where(record: ProcedureRecord, hotline: str, full: bool = False) -> Reply:
    """Where to submit: the receiving address, the agency and the level."""
    if not (record.address or record.agency or record.authority):
        return Reply(f"{heading(record)}\n{missing('nơi tiếp nhận hồ sơ', hotline)}")

    def text(limit: int | None) -> str:
        cut = (lambda value: trim(value, limit)) if limit else (lambda value: " ".join(value.split()))
        lines = [f"Nơi nộp hồ sơ – {heading(record)}:"]
        lines.append(f"- Nơi tiếp nhận: {cut(record.address)}" if record.address else "- Nơi tiếp nhận: chưa có thông tin")
        if record.agency:
            lines.append(f"- Cơ quan thực hiện: {cut(record.agency)}")
        if record.authority and record.authority != record.agency:
            lines.append(f"- Cơ quan có thẩm quyền: {cut(record.authority)}")
        if record.levels:
            lines.append(f"- Cấp thực hiện: {', '.join(record.levels)}")
        if not record.address:
            lines.append(hotline_note(hotline))
        return "\n".join(lines)

    return _reply(record, "where", text(SHORT_FIELD_CHARS), text(None), full)


def online(record: ProcedureRecord, hotline: str, full: bool = False) -> Reply:
    """Whether the procedure takes online submissions, and where."""
    if not record.channels:
        return Reply(f"{heading(record)}\n{missing('hình thức nộp hồ sơ', hotline)}")
    kinds = list(dict.fromkeys(channel.kind for channel in record.channels))
    labels = ", ".join(CHANNEL_LABELS.get(kind, kind) for kind in kinds)
    if "truc_tuyen" in kinds:
        link = record.source_url or NATIONAL_PORTAL
        text = (
            f"{heading(record)}: có thể nộp hồ sơ trực tuyến.\n"
            f"Các hình thức nộp: {labels}.\n"
            f"Nộp trực tuyến qua Cổng Dịch vụ công quốc gia: {link}"
        )
    else:
        text = (
            f"{heading(record)}: theo thông tin công bố, thủ tục này chưa nhận hồ sơ trực tuyến.\n"
            f"Các hình thức nộp: {labels}.\n{hotline_note(hotline)}"
        )
    return Reply(text)


def overview(record: ProcedureRecord, hotline: str, full: bool = False) -> Reply:
    """Name, code, level, agency, result, short steps and conditions, with follow-up questions."""

    def text(whole: bool) -> str:
        cut = (lambda value, limit: " ".join(value.split())) if whole else trim
        lines = [heading(record)]
        if record.levels:
            lines.append(f"Cấp thực hiện: {', '.join(record.levels)}")
        if record.field:
            lines.append(f"Lĩnh vực: {record.field}")
        lines.append(f"Cơ quan thực hiện: {cut(record.agency, SHORT_FIELD_CHARS)}" if record.agency else "Cơ quan thực hiện: chưa có thông tin")
        if record.result:
            lines.append(f"Kết quả: {cut(record.result, SHORT_FIELD_CHARS)}")
        steps = [line.strip() for line in (record.steps or "").splitlines() if line.strip()]
        if steps:
            lines.append("Các bước:")
            lines.extend(cut(step, SHORT_STEP_CHARS) for step in steps)
        if record.conditions:
            lines.append(f"Điều kiện: {cut(record.conditions, SHORT_FIELD_CHARS)}")
        if whole and record.source_url:
            lines.append(f"Chi tiết: {record.source_url}")
        return "\n".join(lines)

    follow_ups = tuple(
        {"title": title, "payload": payload(QUESTION_INTENTS[kind], procedure=record.code)}
        for kind, title in (("documents", "Giấy tờ cần nộp"), ("fee", "Lệ phí"), ("processing_time", "Thời hạn"), ("where", "Nơi nộp"))
    )
    return _reply(record, "overview", text(False), text(True), full, follow_ups)


ANSWERS: dict[str, Callable[[ProcedureRecord, str, bool], Reply]] = {
    "documents": documents,
    "fee": fee,
    "processing_time": processing_time,
    "where": where,
    "online": online,
    "overview": overview,
}


def answer(record: ProcedureRecord, question_type: str, hotline: str, full: bool = False) -> Reply:
    """The reply to ``question_type`` (one of QUESTION_TYPES; others get the overview)."""
    return ANSWERS.get(question_type, overview)(record, hotline, full)


def faq(answer_text: str, faq_id: int, links: Iterable[tuple[str, str]] = (), full: bool = False) -> Reply:
    """A published FAQ answer, trimmed for a phone; ``links`` are (code, name) of linked procedures."""
    text = " ".join(answer_text.split()) if full else trim(answer_text, SHORT_FAQ_CHARS)
    buttons = [{"title": short_name(name), "payload": payload("ask_procedure", procedure=code)} for code, name in list(links)[:3]]
    if text != " ".join(answer_text.split()):
        buttons.append({"title": MORE_TITLE, "payload": payload("inform", detail=faq_detail(faq_id))})
    return Reply(text, tuple(buttons))


FAQ_DETAIL_PREFIX = "faq:"


def faq_detail(faq_id: int) -> str:
    """The ``detail`` entity value asking for FAQ entry ``faq_id`` in full."""
    return f"{FAQ_DETAIL_PREFIX}{faq_id}"


def faq_id_of(detail: str | None) -> int | None:
    if detail and detail.startswith(FAQ_DETAIL_PREFIX) and detail[len(FAQ_DETAIL_PREFIX):].isdigit():
        return int(detail[len(FAQ_DETAIL_PREFIX):])
    return None


def apology(hotline: str) -> str:
    """What the bot says when the knowledge base cannot be read."""
    return (
        "Xin lỗi anh/chị, hệ thống tra cứu đang tạm gián đoạn nên em chưa trả lời được. "
        f"Anh/chị vui lòng thử lại sau ít phút hoặc gọi đường dây nóng {hotline}."
    )
