"""The learning inbox: turns the bot did not handle well, and what an admin does with them.

Actions record fallbacks and weak matches as they happen (``record``); bad ratings and escalations
already have their own rows and are copied in on reading (``collect``), once each. Resolving an item
(an FAQ draft, a training example, a procedure alias, or dismissing it) takes it out of the inbox,
with who and when, and writes the audit log.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge_base import revisions
from knowledge_base.insert_once import insert_once
from knowledge_base.learning_groups import folded
from knowledge_base.models import AuditLog, FaqEntry, FaqVersion, Handoff, LearningItem, Message, Procedure, Rating, utcnow
from knowledge_base.textfold import fold, nfc

KINDS = {
    "fallback": "Không hiểu câu hỏi",
    "out_of_scope": "Ngoài phạm vi",
    "low_confidence": "Tìm thấy nhưng không chắc",
    "not_found": "Không tìm thấy thủ tục",
    "low_rating": "Đánh giá không hài lòng",
    "escalation": "Chuyển tổng đài viên",
}
RESOLUTIONS = {"faq": "Tạo câu hỏi thường gặp", "training": "Thêm câu huấn luyện", "alias": "Gắn tên gọi thủ tục",
               "dismissed": "Bỏ qua"}
MAX_TEXT = 1000  # a citizen's message is kept whole up to this; the rest adds nothing to grouping
MAX_OPEN = 5000  # newest open items shown; older ones wait until these are dealt with


class LearningError(ValueError):
    """An admin action that cannot be done; the message is Vietnamese, for the page."""


def _clean(text: str | None) -> str:
    return " ".join(nfc(text or "").split())[:MAX_TEXT]


def record(session: Session, kind: str, text: str | None, conversation_id: int | None,
           intent: str | None = None, confidence: float | None = None) -> LearningItem | None:
    """Put one turn in the inbox; an empty text (a button press) is not worth an item."""
    if kind not in KINDS:
        raise ValueError(f"unknown learning item kind {kind!r}")
    cleaned = _clean(text)
    if not cleaned or cleaned.startswith("/"):
        return None
    item = LearningItem(kind=kind, text=cleaned, conversation_id=conversation_id, intent=intent,
                        confidence=confidence)
    session.add(item)
    session.flush()
    return item


def _citizen_text_before(session: Session, conversation_id: int | None, moment: datetime) -> str | None:
    """The citizen's last typed message (button payloads aside) up to ``moment``."""
    if conversation_id is None:
        return None
    return session.scalars(
        select(Message.text)
        .where(Message.conversation_id == conversation_id, Message.author == "citizen", Message.created_at <= moment,
               Message.text != "", ~Message.text.startswith("/"))
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(1)
    ).first()


def collect(session: Session) -> int:
    """Copy new "Không hài lòng" ratings and escalations into the inbox (each once); how many were added."""
    added = 0
    taken = select(LearningItem.source_id).where(LearningItem.kind == "low_rating")
    for rating in session.scalars(select(Rating).where(Rating.level == "khong_hai_long", Rating.id.not_in(taken))):
        text = rating.comment or _citizen_text_before(session, rating.conversation_id, rating.created_at)
        added += _copy(session, "low_rating", rating.id, text, rating.conversation_id, rating.created_at)
    taken = select(LearningItem.source_id).where(LearningItem.kind == "escalation")
    # A low-rating handoff is the rating's own item already.
    for handoff in session.scalars(select(Handoff).where(Handoff.reason != "low_rating", Handoff.id.not_in(taken))):
        text = _citizen_text_before(session, handoff.conversation_id, handoff.created_at)
        added += _copy(session, "escalation", handoff.id, text, handoff.conversation_id, handoff.created_at)
    return added


def _copy(session: Session, kind: str, source_id: int, text: str | None, conversation_id: int | None,
          created_at: datetime) -> int:
    cleaned = _clean(text)
    # Nothing typed still marks the source as seen (status dismissed), so it is not looked at again.
    values = {"kind": kind, "source_id": source_id, "text": cleaned or "—", "conversation_id": conversation_id,
              "created_at": created_at, "status": "open" if cleaned else "dismissed",
              "resolution": None if cleaned else "dismissed", "resolved_by": None if cleaned else "system"}
    return int(insert_once(session, LearningItem, values, ("kind", "source_id")) and bool(cleaned))


def open_items(session: Session, kind: str | None = None) -> list[LearningItem]:
    """Open items, newest first (at most MAX_OPEN), of one kind or all."""
    if kind is not None and kind not in KINDS:
        raise LearningError("Loại mục không hợp lệ.")
    query = select(LearningItem).where(LearningItem.status == "open")
    if kind:
        query = query.where(LearningItem.kind == kind)
    return list(session.scalars(query.order_by(LearningItem.created_at.desc(), LearningItem.id.desc()).limit(MAX_OPEN)))


def _items(session: Session, ids: list) -> list[LearningItem]:
    if not ids or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise LearningError("Vui lòng chọn ít nhất một mục.")
    items = list(session.scalars(select(LearningItem).where(LearningItem.id.in_(ids)).with_for_update()))
    if len(items) != len(set(ids)):
        raise LearningError("Không tìm thấy mục đã chọn. Vui lòng tải lại trang.")
    if any(item.status != "open" for item in items):
        raise LearningError("Mục này đã được xử lý. Vui lòng tải lại trang.")
    return sorted(items, key=lambda item: (item.created_at, item.id), reverse=True)


def _resolve(session: Session, items: list[LearningItem], resolution: str, target: str | None, actor: str,
             details: dict | None = None) -> None:
    now = utcnow()
    for item in items:
        item.status, item.resolution, item.resolution_target = "resolved", resolution, target
        item.resolved_by, item.resolved_at = actor, now
    session.add(AuditLog(actor=actor, action=f"learning_{resolution}", target=target,
                         details={"items": [item.id for item in items], **(details or {})}))
    session.flush()


def _distinct_texts(items: list[LearningItem]) -> list[str]:
    seen: dict[str, str] = {}
    for item in items:
        seen.setdefault(folded(item.text), item.text)
    return list(seen.values())


def create_faq_draft(session: Session, ids: list, actor: str, question: str | None = None) -> FaqEntry:
    """A draft FAQ entry asking the items' question (their other wordings as variants), answer to be written."""
    items = _items(session, ids)
    texts = _distinct_texts(items)
    asked = _clean(question) or texts[0]
    variants = [text for text in texts if folded(text) != folded(asked)]
    entry = FaqEntry(question=asked, variants=variants, answer="", tags=[], procedure_codes=[], status="draft",
                     version=1, author=actor, source="learning")
    session.add(entry)
    session.flush()
    session.add(FaqVersion(faq_id=entry.id, version=1, author=actor, snapshot={
        "question": entry.question, "variants": entry.variants, "answer": entry.answer, "tags": entry.tags,
        "procedure_codes": entry.procedure_codes, "status": entry.status}))
    _resolve(session, items, "faq", str(entry.id), actor, {"question": asked})
    return entry


def add_training_examples(session: Session, ids: list, intent: str | None, intents: frozenset[str], actor: str) -> list[str]:
    """Mark the items' texts as examples of ``intent`` (exported by ``export_training``); the texts added."""
    if intent not in intents:
        raise LearningError("Vui lòng chọn một ý định (intent) có trong mô hình.")
    items = _items(session, ids)
    _resolve(session, items, "training", intent, actor)
    return _distinct_texts(items)


def link_alias(session: Session, ids: list, code: str | None, actor: str, alias: str | None = None) -> Procedure:
    """Add the items' wording (or ``alias``) to the procedure's aliases; searches everywhere pick it up."""
    items = _items(session, ids)
    procedure = session.scalars(select(Procedure).where(Procedure.code == (code or "").strip())).first()
    if procedure is None:
        raise LearningError("Không tìm thấy thủ tục có mã này trong danh mục.")
    name = _clean(alias) or items[0].text
    if fold(name) not in {fold(known) for known in procedure.aliases or []}:
        procedure.aliases = [*(procedure.aliases or []), name]  # a new list: JSON columns notice assignment only
        revisions.bump(session, revisions.CATALOGUE)  # every process rebuilds its search with the alias
    _resolve(session, items, "alias", procedure.code, actor, {"alias": name})
    return procedure


def dismiss(session: Session, ids: list, actor: str) -> None:
    """Take the items out of the inbox without acting on them (noise, tests, insults)."""
    _resolve(session, _items(session, ids), "dismissed", None, actor)


@dataclass(frozen=True)
class Example:
    intent: str
    text: str


def training_examples(session: Session) -> list[Example]:
    """Every text an admin made a training example, each once per intent, oldest first."""
    rows = session.execute(
        select(LearningItem.resolution_target, LearningItem.text)
        .where(LearningItem.resolution == "training").order_by(LearningItem.resolved_at, LearningItem.id))
    seen: dict[tuple[str, str], Example] = {}
    for intent, text in rows:
        seen.setdefault((intent, folded(text)), Example(intent, text))
    return list(seen.values())


def export_training(session: Session, path: Path) -> int:
    """Write the examples as a Rasa NLU file (read by ``hcc train`` with the rest of data/); how many."""
    examples = training_examples(session)
    by_intent: dict[str, list[str]] = {}
    for example in examples:
        by_intent.setdefault(example.intent, []).append(example.text)
    document = {"version": "3.1", "nlu": [
        {"intent": intent, "examples": "".join(f"- {text}\n" for text in texts)} for intent, texts in sorted(by_intent.items())]}
    path.parent.mkdir(parents=True, exist_ok=True)
    header = "# Câu huấn luyện do quản trị viên thêm từ hộp học hỏi (/admin). Sinh tự động: đừng sửa tay.\n"
    temporary = path.with_suffix(".tmp")
    temporary.write_text(header + yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=1000),
                         encoding="utf-8")
    temporary.replace(path)
    return len(examples)
