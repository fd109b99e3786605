"""Catalogue administration: preview an uploaded export, apply it all or nothing, edit one procedure.

The preview is a dry run of the very import that confirming runs (``batch.store`` in a transaction
that is rolled back), so what it shows is what will happen. Every applied change is audited and bumps
the catalogue revision, so the bot uses it at once.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePath

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from knowledge_base import form_input, revisions
from knowledge_base.importers.batch import SUFFIXES, Batch, ImportResult, read_path, store
from knowledge_base.importers.quantities import parse_fee, parse_time
from knowledge_base.models import AuditLog, Procedure
from knowledge_base.records import BadRecord
from knowledge_base.store import procedure_state

LIST_LIMIT = 200  # codes listed per group in a preview; the counts are always whole
CHANNEL_EDITS = ("processing_time", "committed_time", "fee")
LOCAL_TEXT_MAX = 2000


@dataclass
class Preview:
    """What an import changes: procedures new, changed (with the fields), removed; FAQ and dossier counts."""

    new: list[dict] = field(default_factory=list)
    changed: list[dict] = field(default_factory=list)
    removed: list[dict] = field(default_factory=list)
    absent: int = 0  # in the database but not in the upload (removed only when asked)
    unchanged: int = 0
    result: ImportResult | None = None

    def as_dict(self) -> dict:
        result = self.result
        return {
            "counts": {"new": len(self.new), "changed": len(self.changed), "removed": len(self.removed),
                       "unchanged": self.unchanged, "absent": self.absent},
            "new": self.new[:LIST_LIMIT], "changed": self.changed[:LIST_LIMIT], "removed": self.removed[:LIST_LIMIT],
            "faq": str(result.faq) if result else "", "dossiers": str(result.dossiers) if result else "",
            "formats": result.kinds if result else {}, "summary": result.lines() if result else [],
        }


def read_upload(filename: str, content: bytes) -> Batch:
    """An uploaded file read like `hcc kb import` reads it; BadRecord names the file, record and field."""
    name = PurePath((filename or "").replace("\\", "/")).name
    if not name or Path(name).suffix.lower() not in SUFFIXES:
        raise BadRecord(name or "tệp tải lên", None, None,
                        f"định dạng tệp không được hỗ trợ (cần {', '.join(SUFFIXES)})")
    with tempfile.TemporaryDirectory(prefix="hcc-upload-") as folder:
        path = Path(folder) / name
        path.write_bytes(content)
        return read_path(path)


def _states(session: Session, codes: list[str]) -> dict[str, dict]:
    states = {}
    for start in range(0, len(codes), 500):
        chunk = codes[start:start + 500]
        query = select(Procedure).where(Procedure.code.in_(chunk)).options(selectinload(Procedure.channels), selectinload(Procedure.documents))
        states.update({p.code: procedure_state(p) for p in session.scalars(query)})
    return states


def apply(session: Session, batch: Batch, remove_missing: bool = False) -> Preview:
    """Import ``batch`` into the session's transaction and say what changed; the caller commits or rolls back."""
    codes = list(dict.fromkeys(r.code for r in [*batch.procedures, *batch.partial_procedures]))
    before = _states(session, codes)
    names = {r.code: r.name for r in [*batch.partial_procedures, *batch.procedures]}
    result = store(session, batch)
    session.flush()
    session.expire_all()
    after = _states(session, codes)
    preview = Preview(result=result)
    for code in codes:
        if code not in before:
            preview.new.append({"code": code, "name": names[code]})
        elif before[code] != after[code]:
            fields = [key for key in after[code] if before[code].get(key) != after[code][key]]
            preview.changed.append({"code": code, "name": after[code]["name"], "fields": fields})
        else:
            preview.unchanged += 1
    missing = session.scalars(select(Procedure).where(Procedure.code.not_in(codes)).order_by(Procedure.code)).all() if codes else []
    preview.absent = len(missing)
    if remove_missing and batch.procedures:  # a listing alone is never a whole catalogue
        for procedure in missing:
            preview.removed.append({"code": procedure.code, "name": procedure.name})
            session.delete(procedure)
        if missing:
            revisions.bump(session, revisions.CATALOGUE)
        session.flush()
    return preview


def dry_run(sessions, batch: Batch, remove_missing: bool = False) -> Preview:
    """What ``apply`` would do, with nothing written."""
    with sessions() as session:
        try:
            return apply(session, batch, remove_missing)
        finally:
            session.rollback()


def audit_import(session: Session, actor: str, filename: str, preview: Preview) -> None:
    counts = preview.as_dict()["counts"]
    session.add(AuditLog(actor=actor, action="catalogue_imported", target=filename[:128],
                         details={**counts, "faq": str(preview.result.faq) if preview.result else ""}))


def _channel_text(changes: dict, name: str, kind: str) -> str | None:
    value = changes.get(name)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"Hình thức {kind}, trường «{name}»: cần văn bản.")
    cleaned = form_input.text(value)
    if cleaned is not None and len(cleaned) > LOCAL_TEXT_MAX:
        raise ValueError(f"Hình thức {kind}, trường «{name}»: tối đa {LOCAL_TEXT_MAX} ký tự.")
    return cleaned


def edit_procedure(session: Session, actor: str, code: str, changes: dict) -> Procedure:
    """Set the local address and, per submission channel, processing time, committed time and fee text.

    ``changes``: ``{"address"?: str, "channels"?: {kind: {"processing_time"?, "committed_time"?, "fee"?}}}``;
    days and the fee amount are read from the texts. Only the keys present change.
    """
    procedure = session.scalars(select(Procedure).where(Procedure.code == (code or "").strip())
                                .options(selectinload(Procedure.channels))).first()
    if procedure is None:
        raise LookupError(f"Không có thủ tục mã {code} trong danh mục.")
    before = procedure_state(procedure)
    if "address" in changes:
        address = changes["address"]
        if address is not None and not isinstance(address, str):
            raise ValueError("Địa chỉ tiếp nhận phải là văn bản.")
        procedure.address = form_input.text(address)
    channel_changes = changes.get("channels") or {}
    if not isinstance(channel_changes, dict):
        raise ValueError("Dữ liệu hình thức nộp không hợp lệ.")
    by_kind = {c.kind: c for c in procedure.channels}
    for kind, values in channel_changes.items():
        channel = by_kind.get(kind)
        if channel is None:
            raise ValueError(f"Thủ tục {procedure.code} không có hình thức nộp «{kind}».")
        if not isinstance(values, dict):
            raise ValueError(f"Dữ liệu hình thức «{kind}» không hợp lệ.")
        if "processing_time" in values:
            channel.processing_time = _channel_text(values, "processing_time", kind)
            channel.processing_days, unit = parse_time(channel.processing_time)
            channel.time_unit = unit or channel.time_unit
        if "committed_time" in values:
            channel.committed_time = _channel_text(values, "committed_time", kind)
            channel.committed_days = parse_time(channel.committed_time)[0]
        if "fee" in values:
            channel.fee = _channel_text(values, "fee", kind)
            channel.fee_amount = parse_fee(channel.fee)
    after = procedure_state(procedure)
    if after == before:
        return procedure
    changed = [key for key in after if before[key] != after[key]]
    session.add(AuditLog(actor=actor, action="procedure_edited", target=procedure.code,
                         details={"fields": changed, "changes": changes}))
    revisions.bump(session, revisions.CATALOGUE)
    session.flush()
    return procedure
