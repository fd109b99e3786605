"""FAQ administration: edit, publish, unpublish, version history, diff and roll back.

Every change writes a FaqVersion (the entry as it now is, with author and time), an AuditLog row and
bumps the FAQ revision, all in the caller's transaction, so a published change goes live at once.
Bad input raises ValueError with a Vietnamese message; LookupError for an unknown entry.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge_base import form_input, revisions
from knowledge_base.models import AuditLog, FaqEntry, FaqVersion, Procedure
from knowledge_base.textfold import fold

FIELDS = ("question", "variants", "answer", "tags", "procedure_codes", "status")
STATUSES = ("draft", "published")
STATUS_LABELS = {"draft": "bản nháp", "published": "đã xuất bản"}
QUESTION_MAX, ANSWER_MAX, LIST_MAX = 500, 5000, 50


@dataclass(frozen=True)
class FaqInput:
    """What an administrator may set on an entry."""

    question: str
    answer: str
    variants: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    procedure_codes: tuple[str, ...] = ()


def snapshot(entry: FaqEntry) -> dict:
    return {
        "question": entry.question, "variants": list(entry.variants or []), "answer": entry.answer,
        "tags": list(entry.tags or []), "procedure_codes": list(entry.procedure_codes or []), "status": entry.status,
    }


def as_dict(entry: FaqEntry) -> dict:
    return {"id": entry.id, **snapshot(entry), "version": entry.version, "author": entry.author,
            "source": entry.source, "updated_at": entry.updated_at.isoformat() if entry.updated_at else None}


def _texts(values: object, label: str, limit: int) -> tuple[str, ...]:
    """A list of strings (or one string, one item a line), trimmed, blanks and repeats dropped."""
    if values is None:
        return ()
    if isinstance(values, str):
        values = values.splitlines()
    if not isinstance(values, (list, tuple)) or not all(isinstance(v, str) for v in values):
        raise ValueError(f"{label} phải là danh sách văn bản.")
    cleaned = tuple(dict.fromkeys(t for t in (form_input.text(v) for v in values) if t))
    if len(cleaned) > LIST_MAX or any(len(t) > limit for t in cleaned):
        raise ValueError(f"{label}: tối đa {LIST_MAX} mục, mỗi mục tối đa {limit} ký tự.")
    return cleaned


def parse_input(body: dict) -> FaqInput:
    """The fields of a create/edit request, checked (codes are checked against the catalogue on save)."""
    question = form_input.text(body.get("question") if isinstance(body.get("question"), str) else None)
    answer = form_input.text(body.get("answer") if isinstance(body.get("answer"), str) else None)
    if question is None or answer is None:
        raise ValueError("Vui lòng nhập cả câu hỏi và câu trả lời.")
    if len(question) > QUESTION_MAX or len(answer) > ANSWER_MAX:
        raise ValueError(f"Câu hỏi tối đa {QUESTION_MAX} ký tự, câu trả lời tối đa {ANSWER_MAX} ký tự.")
    codes = _texts(body.get("procedure_codes"), "Mã thủ tục liên kết", 32)
    for code in codes:
        form_input.procedure_code(code)
    return FaqInput(question, answer, _texts(body.get("variants"), "Cách hỏi khác", QUESTION_MAX),
                    _texts(body.get("tags"), "Nhãn", 64), codes)


def _check_codes(session: Session, codes: Iterable[str]) -> None:
    codes = list(codes)
    known = set(session.scalars(select(Procedure.code).where(Procedure.code.in_(codes)))) if codes else set()
    unknown = [code for code in codes if code not in known]
    if unknown:
        raise ValueError(f"Không có thủ tục mã {', '.join(unknown)} trong danh mục.")


def list_entries(session: Session, query: str | None = None, status: str | None = None, limit: int = 200) -> list[FaqEntry]:
    """Entries newest first; ``query`` matches question, variants, answer or tags, with or without diacritics."""
    statement = select(FaqEntry).order_by(FaqEntry.updated_at.desc(), FaqEntry.id.desc())
    if status in STATUSES:
        statement = statement.where(FaqEntry.status == status)
    words = fold(query or "").split()
    if not words:
        return list(session.scalars(statement.limit(limit)))
    # Folded matching happens here, not in SQL: SQLite and PostgreSQL fold Vietnamese differently.
    found = []
    for entry in session.scalars(statement):
        haystack = fold(" ".join([entry.question, entry.answer, *(entry.variants or []), *(entry.tags or [])]))
        if all(word in haystack for word in words):
            found.append(entry)
            if len(found) >= limit:
                break
    return found


def get_entry(session: Session, faq_id: int) -> FaqEntry:
    entry = session.get(FaqEntry, faq_id)
    if entry is None:
        raise LookupError("Không tìm thấy câu hỏi thường gặp.")
    return entry


def _ensure_history(session: Session, entry: FaqEntry) -> None:
    """Imported entries have no versions yet: record how they stood before the first admin change."""
    if entry.id is not None and session.scalar(select(FaqVersion.id).where(FaqVersion.faq_id == entry.id).limit(1)) is None:
        session.add(FaqVersion(faq_id=entry.id, version=entry.version or 1, snapshot=snapshot(entry), author=entry.author))
        session.flush()


def _record(session: Session, entry: FaqEntry, actor: str, action: str, details: dict | None = None) -> None:
    """The entry's new version, its audit row, and the revision bump that makes it live."""
    session.flush()
    session.add(FaqVersion(faq_id=entry.id, version=entry.version, snapshot=snapshot(entry), author=actor))
    session.add(AuditLog(actor=actor, action=action, target=f"faq:{entry.id}", details={"version": entry.version, **(details or {})}))
    revisions.bump(session, revisions.FAQ)
    session.flush()


def _next_version(session: Session, entry: FaqEntry) -> int:
    newest = session.scalar(select(FaqVersion.version).where(FaqVersion.faq_id == entry.id).order_by(FaqVersion.version.desc()).limit(1))
    return max(newest or 0, entry.version or 0) + 1


def create(session: Session, actor: str, data: FaqInput, publish: bool = False) -> FaqEntry:
    _check_codes(session, data.procedure_codes)
    entry = FaqEntry(question=data.question, answer=data.answer, variants=list(data.variants), tags=list(data.tags),
                     procedure_codes=list(data.procedure_codes), status="published" if publish else "draft",
                     version=1, author=actor, source="admin")
    session.add(entry)
    session.flush()
    _record(session, entry, actor, "faq_created")
    return entry


def update(session: Session, actor: str, faq_id: int, data: FaqInput) -> FaqEntry:
    """Edit the content; the status stays (an edit of a published entry is live at once)."""
    entry = get_entry(session, faq_id)
    _check_codes(session, data.procedure_codes)
    _ensure_history(session, entry)
    before = snapshot(entry)
    entry.question, entry.answer = data.question, data.answer
    entry.variants, entry.tags, entry.procedure_codes = list(data.variants), list(data.tags), list(data.procedure_codes)
    if snapshot(entry) == before:
        return entry
    entry.version, entry.author = _next_version(session, entry), actor
    _record(session, entry, actor, "faq_updated", {"fields": [name for name in FIELDS if before[name] != snapshot(entry)[name]]})
    return entry


def set_status(session: Session, actor: str, faq_id: int, status: str) -> FaqEntry:
    """Publish or unpublish; the same status again changes nothing."""
    if status not in STATUSES:
        raise ValueError("Trạng thái phải là bản nháp hoặc đã xuất bản.")
    entry = get_entry(session, faq_id)
    if entry.status == status:
        return entry
    if status == "published":
        if not (entry.question or "").strip() or not (entry.answer or "").strip():
            raise ValueError("Câu hỏi chưa có câu trả lời; vui lòng viết câu trả lời trước khi xuất bản.")
        _check_codes(session, entry.procedure_codes or [])
    _ensure_history(session, entry)
    entry.status, entry.version, entry.author = status, _next_version(session, entry), actor
    _record(session, entry, actor, "faq_published" if status == "published" else "faq_unpublished")
    return entry


def versions(session: Session, faq_id: int) -> list[FaqVersion]:
    get_entry(session, faq_id)
    return list(session.scalars(select(FaqVersion).where(FaqVersion.faq_id == faq_id).order_by(FaqVersion.version.desc())))


def version_dict(version: FaqVersion) -> dict:
    return {"version": version.version, "author": version.author, "snapshot": version.snapshot,
            "created_at": version.created_at.isoformat() if version.created_at else None}


def _version(session: Session, faq_id: int, number: int) -> FaqVersion:
    found = session.scalars(select(FaqVersion).where(FaqVersion.faq_id == faq_id, FaqVersion.version == number)).first()
    if found is None:
        raise LookupError(f"Không có phiên bản {number} của câu hỏi này.")
    return found


def _lines(value: object) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return str(value or "").splitlines()


def diff(session: Session, faq_id: int, old: int, new: int) -> list[dict]:
    """Per changed field: the lines removed and the lines added from version ``old`` to ``new``."""
    before, after = _version(session, faq_id, old).snapshot, _version(session, faq_id, new).snapshot
    changes = []
    for name in FIELDS:
        a, b = _lines(before.get(name)), _lines(after.get(name))
        if a != b:
            changes.append({"field": name, "removed": [line for line in a if line not in b],
                            "added": [line for line in b if line not in a], "before": before.get(name), "after": after.get(name)})
    return changes


def rollback(session: Session, actor: str, faq_id: int, number: int) -> FaqEntry:
    """Make the entry as it was at version ``number`` again, as a new version (history is never rewritten)."""
    entry = get_entry(session, faq_id)
    old = _version(session, faq_id, number).snapshot
    _check_codes(session, old.get("procedure_codes") or [])
    for name in FIELDS:
        setattr(entry, name, list(old.get(name) or []) if name in ("variants", "tags", "procedure_codes") else old.get(name))
    entry.version, entry.author = _next_version(session, entry), actor
    _record(session, entry, actor, "faq_rolled_back", {"to": number})
    return entry
