"""Plain records every importer produces and the store writes: the catalogue's own schema."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from dataclasses import field as _field  # ProcedureRecord has a field named `field` (lĩnh vực)

from knowledge_base.tracking_code import EXAMPLE, parse_tracking_code

CHANNEL_KINDS = ("truc_tiep", "truc_tuyen", "buu_chinh")
CHANNEL_LABELS = {
    "truc_tiep": "Trực tiếp",
    "truc_tuyen": "Trực tuyến",
    "buu_chinh": "Dịch vụ bưu chính",
}


@dataclass
class Channel:
    """One way to submit: at the counter, online or by post, with its own time and fee."""

    kind: str  # one of CHANNEL_KINDS
    processing_time: str | None = None  # as published, e.g. "20 Ngày làm việc"
    processing_days: float | None = None  # the number in it, when it has one
    time_unit: str | None = None  # "ngày làm việc", "ngày", "giờ", ...
    committed_time: str | None = None  # the center's reduced commitment, when known
    committed_days: float | None = None
    fee: str | None = None  # as published, e.g. "Lệ phí: 200.000 đồng"
    fee_amount: int | None = None  # VND, when the text states one amount
    description: str | None = None


@dataclass
class Document:
    """One paper of the dossier, with how many originals and copies to bring."""

    name: str
    original_copies: int | None = None  # bản chính
    copies: int | None = None  # bản sao
    quantity_text: str | None = None  # as published when it does not reduce to numbers
    template: str | None = None  # mẫu đơn, tờ khai


@dataclass
class ProcedureRecord:
    code: str
    name: str
    levels: list[str] = _field(default_factory=list)
    field: str | None = None
    agency: str | None = None  # cơ quan thực hiện
    authority: str | None = None  # cơ quan có thẩm quyền
    address: str | None = None  # địa chỉ tiếp nhận hồ sơ
    subjects: str | None = None  # đối tượng thực hiện
    channels: list[Channel] = _field(default_factory=list)
    documents: list[Document] = _field(default_factory=list)
    steps: str | None = None
    conditions: str | None = None
    result: str | None = None
    legal_basis: str | None = None
    decision_number: str | None = None
    source_url: str | None = None
    aliases: list[str] = _field(default_factory=list)
    source: str = "project"  # which importer produced it

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class FaqRecord:
    question: str
    answer: str
    variants: list[str] = _field(default_factory=list)
    tags: list[str] = _field(default_factory=list)
    procedure_codes: list[str] = _field(default_factory=list)
    status: str = "published"
    external_id: str | None = None  # the portal's faq_id, or the project's own key
    source: str = "project"


@dataclass
class DossierRecord:
    tracking_code: str
    procedure_code: str | None
    status: str
    received_at: str  # ISO date or datetime
    due_at: str | None = None
    finished_at: str | None = None
    current_step: str | None = None
    history: list[dict] = _field(default_factory=list)
    applicant_name: str | None = None
    applicant_phone: str | None = None  # hashed on the way in, never stored
    result_delivery: str | None = None  # quay | buu_chinh | truc_tuyen


class BadRecord(ValueError):
    """A record that cannot be imported; names the file, record and field at fault."""

    def __init__(self, source: str, record: str | None, field_name: str | None, reason: str):
        self.source, self.record, self.field_name, self.reason = source, record, field_name, reason
        where = source
        if record:
            where += f", bản ghi {record}"
        if field_name:
            where += f", trường «{field_name}»"
        super().__init__(f"{where}: {reason}")


CODE_PATTERN = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.\-_]{2,31}$")
DOSSIER_STATUSES = ("da_tiep_nhan", "dang_xu_ly", "cho_bo_sung", "da_co_ket_qua", "da_tra_ket_qua", "tu_choi")
RESULT_DELIVERIES = ("quay", "buu_chinh", "truc_tuyen")


def check_procedure(record: ProcedureRecord, source: str) -> None:
    """Raise BadRecord naming the field when ``record`` cannot be stored as it is."""
    label = record.code or record.name or "?"
    if not record.code or not CODE_PATTERN.match(record.code):
        raise BadRecord(source, label, "code", f"mã thủ tục không hợp lệ: {record.code!r}")
    if not record.name or not record.name.strip():
        raise BadRecord(source, label, "name", "thiếu tên thủ tục")
    for channel in record.channels:
        if channel.kind not in CHANNEL_KINDS:
            raise BadRecord(source, label, "channels.kind", f"hình thức nộp không hợp lệ: {channel.kind!r}")
        for name in ("processing_days", "committed_days", "fee_amount"):
            value = getattr(channel, name)
            if value is not None and (not isinstance(value, (int, float)) or value < 0):
                raise BadRecord(source, label, f"channels.{name}", f"giá trị không hợp lệ: {value!r}")
    for document in record.documents:
        if not document.name or not document.name.strip():
            raise BadRecord(source, label, "documents.name", "giấy tờ thiếu tên")
        for name in ("original_copies", "copies"):
            value = getattr(document, name)
            if value is not None and (not isinstance(value, int) or value < 0):
                raise BadRecord(source, label, f"documents.{name}", f"số lượng không hợp lệ: {value!r}")


def check_faq(record: FaqRecord, source: str) -> None:
    label = record.external_id or record.question[:40]
    if not record.question.strip():
        raise BadRecord(source, label, "question", "thiếu câu hỏi")
    if not record.answer.strip():
        raise BadRecord(source, label, "answer", "thiếu câu trả lời")
    if record.status not in ("draft", "published"):
        raise BadRecord(source, label, "status", f"trạng thái không hợp lệ: {record.status!r}")


def check_dossier(record: DossierRecord, source: str) -> None:
    label = record.tracking_code
    if record.status not in DOSSIER_STATUSES:
        raise BadRecord(source, label, "status", f"trạng thái hồ sơ không hợp lệ: {record.status!r}")
    if record.result_delivery is not None and record.result_delivery not in RESULT_DELIVERIES:
        raise BadRecord(source, label, "result_delivery", f"hình thức trả kết quả không hợp lệ: {record.result_delivery!r}")
    code = parse_tracking_code(record.tracking_code or "")
    if code is None:
        raise BadRecord(source, label, "tracking_code", f"mã hồ sơ không đúng định dạng (ví dụ {EXAMPLE})")
    if record.received_at[:10].replace("-", "")[2:] != f"{code.received:%y%m%d}":
        raise BadRecord(source, label, "received_at", "ngày tiếp nhận không khớp với ngày trong mã hồ sơ")
