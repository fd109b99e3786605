"""The project's own catalogue format: YAML (procedures / faq / dossiers) and flat CSV."""
from __future__ import annotations

import csv
import io
from dataclasses import fields
from pathlib import Path

import yaml

from knowledge_base.records import (
    CHANNEL_KINDS,
    BadRecord,
    Channel,
    Document,
    DossierRecord,
    FaqRecord,
    ProcedureRecord,
)

LIST_SEPARATOR = ";"
CSV_CHANNEL_FIELDS = ("processing_time", "processing_days", "time_unit", "committed_time", "committed_days", "fee", "fee_amount", "description")
# Long texts an export carries so that it imports back unchanged.
CSV_TEXTS = ("steps", "conditions", "legal_basis", "decision_number")


def _build(cls, data: dict, source: str, record: str):
    """A dataclass from a mapping, naming the record and the key when one is unknown."""
    if not isinstance(data, dict):
        raise BadRecord(source, record, None, f"cần một bảng khóa–giá trị, nhận được {type(data).__name__}")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise BadRecord(source, record, unknown[0], "trường không có trong lược đồ")
    try:
        return cls(**data)
    except TypeError as error:  # a required key is missing
        raise BadRecord(source, record, None, f"thiếu trường bắt buộc ({error})") from None


def procedure_from_dict(data: dict, source: str) -> ProcedureRecord:
    data = dict(data)
    record = str(data.get("code", "?"))
    channels = [_build(Channel, c, source, record) for c in data.pop("channels", None) or []]
    documents = [_build(Document, d, source, record) for d in data.pop("documents", None) or []]
    procedure = _build(ProcedureRecord, data, source, record)
    procedure.code = str(procedure.code).strip()
    procedure.channels, procedure.documents = channels, documents
    procedure.source = data.get("source", "project")
    return procedure


def faq_from_dict(data: dict, source: str) -> FaqRecord:
    data = dict(data)
    key = data.pop("key", None)
    if key is not None:
        data["external_id"] = str(key)
    return _build(FaqRecord, data, source, str(key or data.get("question", "?"))[:60])


def dossier_from_dict(data: dict, source: str) -> DossierRecord:
    data = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in dict(data).items()}
    if data.get("applicant_phone") is not None:
        data["applicant_phone"] = str(data["applicant_phone"])
    return _build(DossierRecord, data, source, str(data.get("tracking_code", "?")))


def read_yaml(path: Path) -> tuple[list[ProcedureRecord], list[FaqRecord], list[DossierRecord]]:
    source = path.name
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise BadRecord(source, None, None, f"YAML không đọc được: {error}") from None
    if not isinstance(document, dict):
        raise BadRecord(source, None, None, "tệp YAML phải có khóa procedures, faq hoặc dossiers")
    return (
        [procedure_from_dict(item, source) for item in document.get("procedures") or []],
        [faq_from_dict(item, source) for item in document.get("faq") or []],
        [dossier_from_dict(item, source) for item in document.get("dossiers") or []],
    )


def is_project_yaml(path: Path) -> bool:
    if path.suffix.lower() not in (".yaml", ".yml"):
        return False
    head = path.read_text(encoding="utf-8", errors="replace")[:4000]
    return any(line.split(":")[0].strip() in ("procedures", "faq", "dossiers") for line in head.splitlines() if not line.startswith((" ", "-", "#")))


# --- CSV: one procedure a row; channels as <kind>_<field> columns, documents one a line ---

def csv_columns() -> list[str]:
    base = ["code", "name", "levels", "field", "agency", "authority", "address", "subjects", "aliases", "result", "source_url", *CSV_TEXTS]
    per_channel = [f"{kind}_{name}" for kind in CHANNEL_KINDS for name in CSV_CHANNEL_FIELDS]
    return base + per_channel + ["documents"]


def _number(text: str, source: str, record: str, column: str, kind: type):
    text = text.strip().replace(" ", "")
    if not text:
        return None
    try:
        value = kind(text.replace(".", "").replace(",", "") if kind is int else text.replace(",", "."))
    except ValueError:
        raise BadRecord(source, record, column, f"cần một số, nhận được {text!r}") from None
    return value


def _split(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(LIST_SEPARATOR) if part.strip()]


def document_from_line(line: str, source: str, record: str) -> Document:
    """``Tên giấy tờ | bản chính | bản sao | mẫu`` (the last three optional)."""
    parts = [part.strip() for part in line.split("|")]
    name = parts[0]
    original = _number(parts[1], source, record, "documents", int) if len(parts) > 1 else None
    copies = _number(parts[2], source, record, "documents", int) if len(parts) > 2 else None
    template = parts[3] or None if len(parts) > 3 else None
    return Document(name=name, original_copies=original, copies=copies, template=template)


def document_to_line(document: Document) -> str:
    numbers = ["" if n is None else str(n) for n in (document.original_copies, document.copies)]
    return " | ".join([document.name, *numbers, document.template or ""]).rstrip(" |")


def procedure_from_row(row: dict[str, str], source: str, line: int) -> ProcedureRecord:
    row = {k.strip(): (v or "").strip() for k, v in row.items() if k}
    record = row.get("code") or f"dòng {line}"
    channels = []
    for kind in CHANNEL_KINDS:
        values = {name: row.get(f"{kind}_{name}", "") for name in CSV_CHANNEL_FIELDS}
        if not any(values.values()):
            continue
        channels.append(
            Channel(
                kind=kind,
                processing_time=values["processing_time"] or None,
                processing_days=_number(values["processing_days"], source, record, f"{kind}_processing_days", float),
                time_unit=values["time_unit"] or None,
                committed_time=values["committed_time"] or None,
                committed_days=_number(values["committed_days"], source, record, f"{kind}_committed_days", float),
                fee=values["fee"] or None,
                fee_amount=_number(values["fee_amount"], source, record, f"{kind}_fee_amount", int),
                description=values["description"] or None,
            )
        )
    documents = [document_from_line(line_, source, record) for line_ in row.get("documents", "").splitlines() if line_.strip()]
    return ProcedureRecord(
        code=row.get("code", ""),
        name=row.get("name", ""),
        levels=_split(row.get("levels")),
        field=row.get("field") or None,
        agency=row.get("agency") or None,
        authority=row.get("authority") or None,
        address=row.get("address") or None,
        subjects=row.get("subjects") or None,
        aliases=_split(row.get("aliases")),
        result=row.get("result") or None,
        source_url=row.get("source_url") or None,
        **{name: row.get(name) or None for name in CSV_TEXTS},
        channels=channels,
        documents=documents,
        source="project",
    )


def read_csv(path: Path) -> list[ProcedureRecord]:
    text = path.read_text(encoding="utf-8-sig")
    reader = csv.DictReader(io.StringIO(text))
    missing = {"code", "name"} - set(reader.fieldnames or [])
    if missing:
        raise BadRecord(path.name, None, sorted(missing)[0], "thiếu cột bắt buộc")
    return [procedure_from_row(row, path.name, number) for number, row in enumerate(reader, start=2)]


def write_csv(procedures: list[ProcedureRecord]) -> str:
    """The CSV ``read_csv`` reads back, for exports and round trips."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=csv_columns())
    writer.writeheader()
    for p in procedures:
        row = {
            "code": p.code, "name": p.name, "levels": f"{LIST_SEPARATOR} ".join(p.levels), "field": p.field or "",
            "agency": p.agency or "", "authority": p.authority or "", "address": p.address or "",
            "subjects": p.subjects or "", "aliases": f"{LIST_SEPARATOR} ".join(p.aliases), "result": p.result or "",
            "source_url": p.source_url or "",
            **{name: getattr(p, name) or "" for name in CSV_TEXTS},
            "documents": "\n".join(document_to_line(d) for d in p.documents),
        }
        for channel in p.channels:
            for name in CSV_CHANNEL_FIELDS:
                value = getattr(channel, name)
                row[f"{channel.kind}_{name}"] = "" if value is None else str(value)
        writer.writerow(row)
    return out.getvalue()
