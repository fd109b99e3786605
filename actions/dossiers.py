"""Where dossier status comes from: one interface, with the knowledge base's table behind it today.

A real one-stop system (Hệ thống thông tin giải quyết TTHC) replaces ``KnowledgeBaseDossiers`` by
another class with the same three methods; the actions and the gateway's sync job only see ``DossierSource``.
"""
from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from actions.procedure_cache import procedures
from knowledge_base import catalogue, dossier_status
from knowledge_base.db import session_factory
from knowledge_base.dossier_notifications import DossierChange


@dataclass(frozen=True)
class DossierStatus:
    tracking_code: str
    status: str  # one of knowledge_base.records.DOSSIER_STATUSES
    received_at: datetime  # the center's wall clock
    due_at: datetime | None
    finished_at: datetime | None
    current_step: str | None
    procedure_code: str | None
    procedure_name: str | None
    can_verify: bool  # the applicant's phone is on file, so personal details can be unlocked


@dataclass(frozen=True)
class DossierDetails:
    applicant_name: str | None
    result_delivery: str | None  # quay | buu_chinh | truc_tuyen


class DossierSource(Protocol):
    def status(self, tracking_code: str) -> DossierStatus | None: ...

    def details(self, tracking_code: str, phone_last4: str) -> DossierDetails | None:
        """Personal details, only when ``phone_last4`` matches the applicant's phone."""

    def changed_since(self, since: datetime | None) -> list[DossierChange]:
        """Dossiers whose status may have changed at or after ``since`` (UTC; every one when None), for the sync job."""


class KnowledgeBaseDossiers:
    """Dossiers imported into the knowledge base (the demo table, or a nightly export)."""

    def status(self, tracking_code: str) -> DossierStatus | None:
        with session_factory()() as session:
            dossier = catalogue.get_dossier(session, tracking_code)
            if dossier is None:
                return None
            # The actions' procedure cache, as for answers: the name only, without reading the whole record again.
            procedure = procedures.get(dossier.procedure_code) if dossier.procedure_code else None
            name = procedure.name if procedure else None
            return DossierStatus(
                tracking_code=dossier.tracking_code, status=dossier.status, received_at=dossier.received_at,
                due_at=dossier.due_at, finished_at=dossier.finished_at, current_step=dossier.current_step,
                procedure_code=dossier.procedure_code, procedure_name=name, can_verify=bool(dossier.phone_last4),
            )

    def details(self, tracking_code: str, phone_last4: str) -> DossierDetails | None:
        with session_factory()() as session:
            dossier = catalogue.get_dossier(session, tracking_code)
            if dossier is None or not dossier.phone_last4:
                return None
            if not hmac.compare_digest(dossier.phone_last4, phone_last4):
                return None
            return DossierDetails(applicant_name=dossier.applicant_name, result_delivery=dossier.result_delivery)

    def changed_since(self, since: datetime | None) -> list[DossierChange]:
        with session_factory()() as session:
            return dossier_status.changed_since(session, since)


def dossier_source() -> DossierSource:
    return KnowledgeBaseDossiers()
