"""Bộ Quốc phòng procedures already parsed into tables (catalogue/bqp_structured/*.json)."""
from __future__ import annotations

import re

from knowledge_base.importers.dvc import clean, levels
from knowledge_base.importers.quantities import channel_kind, parse_fee, parse_time
from knowledge_base.records import Channel, Document, ProcedureRecord

COPIES = re.compile(r"Bản\s+(chính|sao)\s*:\s*(\d+)", re.IGNORECASE)


def is_bqp_record(raw: object) -> bool:
    return isinstance(raw, dict) and "tables" in raw and "metadata" in raw


def _document(row: dict) -> Document:
    counts = {kind.lower(): int(n) for kind, n in COPIES.findall(row.get("ghi_chu") or "")}
    quantity = (row.get("so_luong") or "").strip() or None
    return Document(
        name=row["ten_giay_to"].strip(),
        original_copies=counts.get("chính"),
        copies=counts.get("sao"),
        quantity_text=quantity,
    )


def _channel(row: dict) -> Channel | None:
    kind = channel_kind(row.get("hinh_thuc") or "")
    if kind is None:
        return None
    time_text = clean(row.get("thoi_han_giai_quyet"))
    fee_text = clean(row.get("phi_le_phi"))
    days, unit = parse_time(time_text)
    return Channel(
        kind=kind,
        processing_time=time_text,
        processing_days=days,
        time_unit=unit,
        fee=fee_text,
        fee_amount=parse_fee(fee_text),
        description=clean(row.get("mo_ta")),
    )


def parse_record(raw: dict) -> ProcedureRecord:
    meta, content, tables = raw["metadata"], raw.get("content") or {}, raw.get("tables") or {}
    channels = [c for c in (_channel(row) for row in tables.get("hinh_thuc_nop") or []) if c]
    return ProcedureRecord(
        code=str(meta.get("mã_thủ_tục") or raw.get("thu_tuc_id")).strip(),
        name=(meta.get("tên_thủ_tục") or "").strip(),
        levels=levels(meta.get("cấp_thực_hiện")),
        field=clean(meta.get("lĩnh_vực")),
        agency=clean(content.get("cơ_quan_thực_hiện")),
        authority=clean(content.get("cơ_quan_có_thẩm_quyền")),
        address=clean(content.get("địa_chỉ_tiếp_nhận_hs")),
        subjects=clean(content.get("đối_tượng_thực_hiện")),
        steps=clean(content.get("trình_tự_thực_hiện")),
        conditions=clean(content.get("yêu_cầu_điều_kiện_thực_hiện")),
        result=clean(content.get("kết_quả_thực_hiện")),
        decision_number=clean(meta.get("số_quyết_định")),
        channels=channels,
        documents=[_document(row) for row in tables.get("thanh_phan_ho_so") or [] if (row.get("ten_giay_to") or "").strip()],
        source="bqp",
    )
