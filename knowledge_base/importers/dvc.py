"""The National Public Service Portal crawl (catalogue/dvc/<agency>/<code>.json)."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Iterator

from knowledge_base.importers.portal_tables import (
    parse_channels,
    parse_documents,
    parse_legal_basis,
    parse_result,
)
from knowledge_base.records import ProcedureRecord
from knowledge_base.textfold import nfc

NO_INFO = {"", "không có thông tin", "không", "không có"}

CHANNELS_TITLE = "Cách Thức Thực Hiện"
DOCUMENTS_TITLE = "Thành phần hồ sơ"
# The legal-basis title is the one followed by its table header; the same words also occur
# inside fee notes ("Căn cứ pháp lý: Thông tư 269/2016/TT-BTC"), where the crawler cut wrongly.
LEGAL_TITLE = re.compile(r"Căn cứ pháp lý(?=\s*(?:Tên văn bản pháp lý|Không có thông tin|--|Cơ quan thực hiện))")


def clean(value: str | None) -> str | None:
    """Strip and drop the portal's placeholders for an empty field."""
    if value is None:
        return None
    value = value.strip()
    return None if value.lower().rstrip(".") in NO_INFO else value


def page_tables(raw_text: str | None) -> tuple[str, str] | None:
    """The channel and document table texts cut from the whole page text, or None if not found."""
    # The crawler cut its fields at the first occurrence of each title anywhere on the page: a step
    # mentioning "(Thành phần hồ sơ)" misplaced 27 document fields, a fee note quoting "Căn cứ pháp
    # lý" truncated 7 channel fields. Here each title is searched only after the previous section.
    if not raw_text:
        return None
    start = raw_text.find(CHANNELS_TITLE)
    if start < 0:
        return None
    start += len(CHANNELS_TITLE)
    documents = raw_text.find(DOCUMENTS_TITLE, start)
    if documents < 0:
        return None
    legal = LEGAL_TITLE.search(raw_text, documents)
    end = legal.start() if legal else len(raw_text)
    return raw_text[start:documents], raw_text[documents + len(DOCUMENTS_TITLE) : end]


def _table(field: str | None, from_page: str | None) -> str | None:
    """The page's section when found (it is the field, or the field before the crawler cut it)."""
    if from_page is not None and from_page.strip() not in ("", "--"):
        return from_page
    return field


def _nfc(raw: dict) -> dict:
    """The record with every text composed (NFC): about 500 pages mix decomposed accents, which
    would hide words such as "Mẫu" from the table splitting and from search."""
    return {key: nfc(value) if isinstance(value, str) else value for key, value in raw.items()}


def levels(text: str | None) -> list[str]:
    """'Cấp tỉnh, Cấp xã' → ['Cấp tỉnh', 'Cấp xã']."""
    text = clean(text)
    return [part.strip() for part in text.split(",")] if text else []


def parse_record(raw: dict) -> ProcedureRecord:
    """One portal JSON object to a ProcedureRecord (channels and documents split back out)."""
    raw = _nfc(raw)
    sections = page_tables(raw.get("raw_text"))
    channels_text, documents_text = sections if sections else (None, None)
    return ProcedureRecord(
        code=raw["ma_thu_tuc"].strip(),
        name=raw["ten_thu_tuc"].strip(),
        levels=levels(raw.get("cap_thuc_hien")),
        field=clean(raw.get("linh_vuc")),
        agency=clean(raw.get("co_quan_thuc_hien")),
        authority=clean(raw.get("co_quan_co_tham_quyen")),
        address=clean(raw.get("dia_chi_tiep_nhan")),
        subjects=clean(raw.get("doi_tuong_thuc_hien")),
        channels=parse_channels(_table(raw.get("cach_thuc_thuc_hien"), channels_text)),
        documents=parse_documents(_table(raw.get("thanh_phan_ho_so"), documents_text)),
        steps=clean(raw.get("trinh_tu_thuc_hien")),
        conditions=clean(raw.get("yeu_cau_dieu_kien")),
        result=parse_result(raw.get("ket_qua_xu_ly")),
        legal_basis=parse_legal_basis(raw.get("can_cu_phap_ly")),
        decision_number=clean(raw.get("so_quyet_dinh")),
        source_url=clean(raw.get("detail_url")),
        source="dvc",
    )


def is_dvc_record(raw: object) -> bool:
    return isinstance(raw, dict) and "ma_thu_tuc" in raw and "cach_thuc_thuc_hien" in raw


def read_dir(path: Path) -> Iterator[ProcedureRecord]:
    """Every record under ``path`` (a crawl folder or a single JSON file), in path order."""
    files = [path] if path.is_file() else sorted(path.rglob("*.json"))
    for file in files:
        with file.open(encoding="utf-8") as handle:
            yield parse_record(json.load(handle))
