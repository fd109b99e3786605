"""Status changes of the dossiers the knowledge base holds: what changed since a moment, and the demo's advance."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge_base import catalogue, dossier_notifications, dossier_subscriptions
from knowledge_base.dossier_notifications import DossierChange
from knowledge_base.models import Dossier
from knowledge_base.office_time import local

# The demo's happy path; "cho_bo_sung" goes back to being processed once the citizen has supplemented.
NEXT_STATUS = {"da_tiep_nhan": "dang_xu_ly", "dang_xu_ly": "da_co_ket_qua", "cho_bo_sung": "dang_xu_ly",
               "da_co_ket_qua": "da_tra_ket_qua"}
STEPS = {"dang_xu_ly": "Chuyên viên thẩm định hồ sơ", "da_co_ket_qua": "Có kết quả giải quyết",
         "da_tra_ket_qua": "Đã trả kết quả cho công dân"}


def change_of(session: Session, dossier: Dossier) -> DossierChange:
    """The dossier's status now, with how its result is delivered and where the counter is."""
    procedure = catalogue.get_procedure(session, dossier.procedure_code) if dossier.procedure_code else None
    return DossierChange(tracking_code=dossier.tracking_code, status=dossier.status,
                         result_delivery=dossier.result_delivery, place=procedure.address if procedure else None,
                         changed_at=dossier.updated_at)


def changed_since(session: Session, since: datetime | None) -> list[DossierChange]:
    """Dossiers updated at or after ``since`` (UTC), every one when None."""
    query = select(Dossier).order_by(Dossier.id)
    if since is not None:
        query = query.where(Dossier.updated_at >= since)
    return [change_of(session, dossier) for dossier in session.scalars(query).all()]


def advance(session: Session, tracking_code: str | None = None) -> tuple[str, str, str] | None:
    """Move a dossier (the given one, else the first subscribed one still moving, else the first still moving) to its
    next status, queueing its subscribers' notifications; (code, old, new), or None when there is none to move."""
    if tracking_code:
        dossier = catalogue.get_dossier(session, tracking_code)
    else:
        movable = select(Dossier).where(Dossier.status.in_(list(NEXT_STATUS))).order_by(Dossier.tracking_code)
        subscribed = dossier_subscriptions.active_codes(session)
        dossier = (session.scalars(movable.where(Dossier.tracking_code.in_(subscribed))).first() if subscribed else None) \
            or session.scalars(movable).first()
    if dossier is None or dossier.status not in NEXT_STATUS:
        return None
    old, new = dossier.status, NEXT_STATUS[dossier.status]
    now = local().replace(tzinfo=None)  # dossier dates are the center's wall clock
    dossier.status, dossier.current_step = new, STEPS[new]
    dossier.history = [*(dossier.history or []), {"at": now.isoformat(timespec="seconds"), "step": STEPS[new], "status": new}]
    if new == "da_co_ket_qua":
        dossier.finished_at = now
    session.flush()
    dossier_notifications.record_changes(session, [change_of(session, dossier)])
    return dossier.tracking_code, old, new
