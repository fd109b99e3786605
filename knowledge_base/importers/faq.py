"""The portal's "Câu hỏi phổ biến" as JSON lines (faq_id, question, official_answer, ma_thu_tuc[])."""
from __future__ import annotations

import json
from pathlib import Path

from knowledge_base.records import BadRecord, FaqRecord


def is_faq_jsonl(path: Path) -> bool:
    if path.suffix.lower() not in (".jsonl", ".ndjson"):
        return False
    with path.open(encoding="utf-8") as handle:
        first = handle.readline()
    return '"question"' in first


def read_jsonl(path: Path) -> list[FaqRecord]:
    records = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
            except json.JSONDecodeError as error:
                raise BadRecord(path.name, f"dòng {number}", None, f"JSON không hợp lệ: {error.msg}") from None
            key = raw.get("faq_id")
            where = f"faq_id {key}" if key is not None else f"dòng {number}"
            if not (raw.get("question") or "").strip():
                raise BadRecord(path.name, where, "question", "thiếu câu hỏi")
            if not (raw.get("official_answer") or "").strip():
                raise BadRecord(path.name, where, "official_answer", "thiếu câu trả lời")
            records.append(
                FaqRecord(
                    question=raw["question"].strip(),
                    answer=raw["official_answer"].strip(),
                    tags=[raw["bo_nganh"]] if raw.get("bo_nganh") else [],
                    procedure_codes=[str(code) for code in raw.get("ma_thu_tuc") or []],
                    external_id=f"dvc-{key}" if key is not None else None,
                    source="dvc",
                )
            )
    return records
