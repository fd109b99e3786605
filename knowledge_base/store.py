"""Write imported records into the database: upserts by natural key, never duplicates."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from knowledge_base.models import Dossier, FaqEntry, Procedure, ProcedureChannel, ProcedureDocument
from knowledge_base.privacy import hash_phone, last4
from knowledge_base.records import Channel, Document, DossierRecord, FaqRecord, ProcedureRecord

PROCEDURE_SCALARS = (
    "name", "field", "agency", "authority", "address", "subjects", "steps", "conditions",
    "result", "legal_basis", "decision_number", "source_url", "source",
)
# What the center sets locally survives a re-import of the national catalogue.
LOCAL_FIELDS = ("address",)


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    codes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"thêm mới {self.created}, cập nhật {self.updated}, không đổi {self.unchanged}"


def _channel_row(channel: Channel, position: int, committed: dict[str, ProcedureChannel]) -> ProcedureChannel:
    row = ProcedureChannel(position=position, **vars(channel))
    previous = committed.get(channel.kind)
    if row.committed_time is None and previous is not None:
        row.committed_time, row.committed_days = previous.committed_time, previous.committed_days
    return row


def _document_row(document: Document, position: int) -> ProcedureDocument:
    return ProcedureDocument(position=position, **vars(document))


def procedure_state(procedure: Procedure) -> dict:
    """Everything an import may change, to tell an update from a no-op."""
    return {
        **{name: getattr(procedure, name) for name in PROCEDURE_SCALARS},
        "levels": list(procedure.levels or []),
        "aliases": list(procedure.aliases or []),
        "channels": [
            (c.kind, c.processing_time, c.processing_days, c.time_unit, c.committed_time, c.committed_days, c.fee, c.fee_amount, c.description)
            for c in procedure.channels
        ],
        "documents": [(d.name, d.original_copies, d.copies, d.quantity_text, d.template) for d in procedure.documents],
    }


def apply_procedure(procedure: Procedure, record: ProcedureRecord, partial: bool) -> None:
    """Copy ``record`` onto ``procedure``; a partial record (a listing row) only fills what is empty."""
    for name in PROCEDURE_SCALARS:
        value = getattr(record, name)
        if value is None and name in LOCAL_FIELDS:
            continue
        if partial and getattr(procedure, name) is not None:
            continue
        setattr(procedure, name, value)
    if not partial or not procedure.levels:
        procedure.levels = list(record.levels)
    procedure.aliases = list(dict.fromkeys([*(procedure.aliases or []), *record.aliases]))
    if partial:
        return
    committed = {c.kind: c for c in procedure.channels if c.committed_time}
    procedure.channels = [_channel_row(c, i, committed) for i, c in enumerate(record.channels)]
    procedure.documents = [_document_row(d, i) for i, d in enumerate(record.documents)]


def upsert_procedures(session: Session, records: Iterable[ProcedureRecord], partial: bool = False) -> Counts:
    records = list(records)
    codes = [r.code for r in records]
    existing = {
        p.code: p
        for chunk in _chunks(codes, 500)
        for p in session.scalars(
            select(Procedure).where(Procedure.code.in_(chunk)).options(selectinload(Procedure.channels), selectinload(Procedure.documents))
        )
    }
    counts = Counts()
    for record in records:
        procedure = existing.get(record.code)
        if procedure is None:
            procedure = Procedure(code=record.code, aliases=[], levels=[])
            apply_procedure(procedure, record, partial=False)
            session.add(procedure)
            existing[record.code] = procedure
            counts.created += 1
        else:
            before = procedure_state(procedure)
            apply_procedure(procedure, record, partial)
            if procedure_state(procedure) == before:
                counts.unchanged += 1
            else:
                counts.updated += 1
        counts.codes.append(record.code)
    session.flush()
    return counts


def _upsert(session: Session, model, key: str, key_value, values: dict, counts: Counts) -> object | None:
    """Create or update one row by its natural key; the updated row is returned, else None."""
    row = session.scalars(select(model).where(getattr(model, key) == key_value)).first() if key_value else None
    if row is None:
        session.add(model(**{key: key_value}, **values))
        counts.created += 1
        return None
    if all(getattr(row, name) == value for name, value in values.items()):
        counts.unchanged += 1
        return None
    for name, value in values.items():
        setattr(row, name, value)
    counts.updated += 1
    return row


def upsert_faq(session: Session, records: Iterable[FaqRecord], author: str = "import") -> Counts:
    counts = Counts()
    for record in records:
        values = {
            "question": record.question, "answer": record.answer, "variants": list(record.variants),
            "tags": list(record.tags), "procedure_codes": list(record.procedure_codes),
            "status": record.status, "source": record.source,
        }
        updated = _upsert(session, FaqEntry, "external_id", record.external_id, {**values, "author": author}, counts)
        if updated is not None:
            updated.version = (updated.version or 1) + 1
    session.flush()
    return counts


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def upsert_dossiers(session: Session, records: Iterable[DossierRecord]) -> Counts:
    counts = Counts()
    for record in records:
        values = {
            "procedure_code": record.procedure_code, "status": record.status,
            "received_at": _when(record.received_at), "due_at": _when(record.due_at),
            "finished_at": _when(record.finished_at), "current_step": record.current_step,
            "history": list(record.history), "applicant_name": record.applicant_name,
            "result_delivery": record.result_delivery,
        }
        if record.applicant_phone:
            values["phone_hash"] = hash_phone(record.applicant_phone)
            values["phone_last4"] = last4(record.applicant_phone)
        _upsert(session, Dossier, "tracking_code", record.tracking_code, values, counts)
    session.flush()
    return counts


def _chunks(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
