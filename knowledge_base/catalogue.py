"""Read side of the knowledge base: procedures, FAQ and dossiers as plain records, and search."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from knowledge_base.models import Dossier, FaqEntry, Procedure
from knowledge_base.records import Channel, Document, ProcedureRecord


def to_record(procedure: Procedure) -> ProcedureRecord:
    return ProcedureRecord(
        code=procedure.code,
        name=procedure.name,
        levels=list(procedure.levels or []),
        field=procedure.field,
        agency=procedure.agency,
        authority=procedure.authority,
        address=procedure.address,
        subjects=procedure.subjects,
        channels=[
            Channel(
                kind=c.kind, processing_time=c.processing_time, processing_days=c.processing_days,
                time_unit=c.time_unit, committed_time=c.committed_time, committed_days=c.committed_days,
                fee=c.fee, fee_amount=c.fee_amount, description=c.description,
            )
            for c in procedure.channels
        ],
        documents=[
            Document(name=d.name, original_copies=d.original_copies, copies=d.copies, quantity_text=d.quantity_text, template=d.template)
            for d in procedure.documents
        ],
        steps=procedure.steps,
        conditions=procedure.conditions,
        result=procedure.result,
        legal_basis=procedure.legal_basis,
        decision_number=procedure.decision_number,
        source_url=procedure.source_url,
        aliases=list(procedure.aliases or []),
        source=procedure.source,
    )


def _with_tables():
    return select(Procedure).options(selectinload(Procedure.channels), selectinload(Procedure.documents))


def get_procedure(session: Session, code: str) -> ProcedureRecord | None:
    procedure = session.scalars(_with_tables().where(Procedure.code == code.strip())).first()
    return to_record(procedure) if procedure else None


def all_procedures(session: Session) -> list[ProcedureRecord]:
    return [to_record(p) for p in session.scalars(_with_tables().order_by(Procedure.code))]


def faq_examples(session: Session) -> list[tuple[str, str]]:
    """(question, procedure code) pairs from published FAQ entries: what citizens call each procedure."""
    known = set(session.scalars(select(Procedure.code)))
    pairs = []
    for entry in session.scalars(select(FaqEntry).where(FaqEntry.status == "published")):
        for code in entry.procedure_codes or []:
            if code in known:
                pairs.extend((text, code) for text in [entry.question, *(entry.variants or [])])
    return pairs


def get_dossier(session: Session, tracking_code: str) -> Dossier | None:
    return session.scalars(select(Dossier).where(Dossier.tracking_code == tracking_code)).first()


def dossier_dict(dossier: Dossier) -> dict:
    """A dossier for scripts; the phone hash never leaves the database."""
    return {
        "tracking_code": dossier.tracking_code,
        "procedure_code": dossier.procedure_code,
        "status": dossier.status,
        "received_at": _iso(dossier.received_at),
        "due_at": _iso(dossier.due_at),
        "finished_at": _iso(dossier.finished_at),
        "current_step": dossier.current_step,
        "history": dossier.history or [],
        "applicant_name": dossier.applicant_name,
        "phone_last4": dossier.phone_last4,
        "result_delivery": dossier.result_delivery,
    }


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def counts(session: Session) -> dict[str, int]:
    return {
        "procedures": session.scalar(select(func.count()).select_from(Procedure)),
        "faq": session.scalar(select(func.count()).select_from(FaqEntry)),
        "dossiers": session.scalar(select(func.count()).select_from(Dossier)),
    }


class SearchService:
    """The procedure index over the database, rebuilt in the background when the catalogue or FAQ changes."""

    def __init__(self, sessions, interval: float | None = None) -> None:
        from knowledge_base.revisions import CATALOGUE, FAQ, Watched

        self._sessions = sessions
        self._live = Watched(sessions, (CATALOGUE, FAQ), self.build, interval)

    def index(self):
        return self._live.get()

    def build(self):
        from knowledge_base.search import ProcedureIndex

        with self._sessions() as session:
            return ProcedureIndex.build(all_procedures(session), faq_examples(session))

    def refresh(self) -> None:
        self._live.refresh()  # one reference swap: readers see the old or the new index, whole

    def search(self, text: str, top: int = 5) -> list:
        return self.index().search(text, top=top)


_shared: SearchService | None = None


def shared_search() -> SearchService:
    """The process's search over the configured database (NLU and actions share it)."""
    global _shared
    if _shared is None:
        from knowledge_base.db import session_factory

        _shared = SearchService(session_factory())
    return _shared
