"""The National Public Service Portal crawl (catalogue/dvc/<agency>/<code>.json)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

from knowledge_base.records import ProcedureRecord

NO_INFO = {"", "không có thông tin", "không", "không có"}


def clean(value: str | None) -> str | None:
    """Strip and drop the portal's placeholders for an empty field."""
    if value is None:
        return None
    value = value.strip()
    return None if value.lower().rstrip(".") in NO_INFO else value


def parse_record(raw: dict) -> ProcedureRecord:
    """One portal JSON object to a ProcedureRecord (channels and documents split back out)."""
    level = clean(raw.get("cap_thuc_hien"))
    return ProcedureRecord(
        code=raw["ma_thu_tuc"].strip(),
        name=raw["ten_thu_tuc"].strip(),
        levels=[part.strip() for part in level.split(",")] if level else [],
        field=clean(raw.get("linh_vuc")),
        agency=clean(raw.get("co_quan_thuc_hien")),
        authority=clean(raw.get("co_quan_co_tham_quyen")),
        address=clean(raw.get("dia_chi_tiep_nhan")),
        subjects=clean(raw.get("doi_tuong_thuc_hien")),
        steps=clean(raw.get("trinh_tu_thuc_hien")),
        conditions=clean(raw.get("yeu_cau_dieu_kien")),
        result=clean(raw.get("ket_qua_xu_ly")),
        legal_basis=clean(raw.get("can_cu_phap_ly")),
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
