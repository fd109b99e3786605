"""Read any supported file or folder into one batch, then store it in one transaction."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from knowledge_base import revisions
from knowledge_base.importers import bqp, dvc, faq, listing, project
from knowledge_base.importers.report import ParseQuality, parse_quality
from knowledge_base.records import (
    BadRecord,
    DossierRecord,
    FaqRecord,
    ProcedureRecord,
    check_dossier,
    check_faq,
    check_procedure,
)
from knowledge_base.store import Counts, upsert_dossiers, upsert_faq, upsert_procedures

SUFFIXES = (".json", ".jsonl", ".ndjson", ".xlsx", ".yaml", ".yml", ".csv")


@dataclass
class Batch:
    procedures: list[ProcedureRecord] = field(default_factory=list)
    partial_procedures: list[ProcedureRecord] = field(default_factory=list)  # listing rows: name, field, agency only
    faq: list[FaqRecord] = field(default_factory=list)
    dossiers: list[DossierRecord] = field(default_factory=list)
    kinds: dict[str, int] = field(default_factory=dict)  # detected format -> files

    def count(self, kind: str) -> None:
        self.kinds[kind] = self.kinds.get(kind, 0) + 1


@dataclass
class ImportResult:
    procedures: Counts
    faq: Counts
    dossiers: Counts
    quality: ParseQuality
    kinds: dict[str, int]

    def lines(self) -> list[str]:
        kinds = ", ".join(f"{kind}: {n} tệp" for kind, n in sorted(self.kinds.items()))
        return [
            f"Định dạng: {kinds}",
            f"Thủ tục: {self.procedures}",
            f"Câu hỏi thường gặp: {self.faq}",
            f"Hồ sơ: {self.dossiers}",
            "Chất lượng tách dữ liệu:",
            *("  " + line for line in self.quality.lines()),
        ]


def _read_json(file: Path, batch: Batch) -> None:
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise BadRecord(file.name, None, None, f"JSON không hợp lệ: {error}") from None
    if dvc.is_dvc_record(raw):
        parse, kind = dvc.parse_record, "dvc"
    elif bqp.is_bqp_record(raw):
        parse, kind = bqp.parse_record, "bqp"
    else:
        raise BadRecord(file.name, None, None, "không nhận ra định dạng JSON (cần bản ghi của Cổng DVC hoặc bqp_structured)")
    try:
        batch.procedures.append(parse(raw))
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        code = raw.get("ma_thu_tuc") or raw.get("thu_tuc_id")
        raise BadRecord(file.name, code, str(error) if isinstance(error, KeyError) else None, f"không tách được: {error!r}") from None
    batch.count(kind)


def read_file(file: Path, batch: Batch) -> None:
    suffix = file.suffix.lower()
    if suffix == ".json":
        _read_json(file, batch)
    elif faq.is_faq_jsonl(file):
        batch.faq.extend(faq.read_jsonl(file))
        batch.count("faq-jsonl")
    elif listing.is_listing(file):
        batch.partial_procedures.extend(listing.read_xlsx(file))
        batch.count("listing-xlsx")
    elif project.is_project_yaml(file):
        procedures, faqs, dossiers = project.read_yaml(file)
        batch.procedures.extend(procedures)
        batch.faq.extend(faqs)
        batch.dossiers.extend(dossiers)
        batch.count("project-yaml")
    elif suffix == ".csv":
        batch.procedures.extend(project.read_csv(file))
        batch.count("project-csv")
    else:
        raise BadRecord(file.name, None, None, "định dạng tệp không được hỗ trợ")


def read_path(path: Path) -> Batch:
    """Every supported file at ``path`` (a file or a folder, recursively), checked record by record."""
    path = Path(path)
    if not path.exists():
        raise BadRecord(str(path), None, None, "không tìm thấy tệp hoặc thư mục")
    files = [path] if path.is_file() else sorted(f for f in path.rglob("*") if f.suffix.lower() in SUFFIXES and f.is_file())
    if not files:
        raise BadRecord(str(path), None, None, "không có tệp nào để nhập")
    batch = Batch()
    for file in files:
        read_file(file, batch)
    check(batch, str(path))
    return batch


def check(batch: Batch, source: str) -> None:
    seen: dict[str, str] = {}
    for record in [*batch.procedures, *batch.partial_procedures]:
        check_procedure(record, source)
    for record in batch.procedures:
        if record.code in seen:
            raise BadRecord(source, record.code, "code", "mã thủ tục xuất hiện hai lần trong cùng lần nhập")
        seen[record.code] = record.name
    for record in batch.faq:
        check_faq(record, source)
    for record in batch.dossiers:
        check_dossier(record, source)


def store(session: Session, batch: Batch) -> ImportResult:
    """Write the batch (the caller's transaction makes it all or nothing)."""
    procedures = upsert_procedures(session, batch.procedures)
    listed = upsert_procedures(session, batch.partial_procedures, partial=True)
    procedures.created += listed.created
    procedures.updated += listed.updated
    procedures.unchanged += listed.unchanged
    faq_counts = upsert_faq(session, batch.faq)
    if procedures.created or procedures.updated:
        revisions.bump(session, revisions.CATALOGUE)
    if faq_counts.created or faq_counts.updated:
        revisions.bump(session, revisions.FAQ)
    return ImportResult(
        procedures=procedures,
        faq=faq_counts,
        dossiers=upsert_dossiers(session, batch.dossiers),
        quality=parse_quality(batch.procedures),
        kinds=batch.kinds,
    )
