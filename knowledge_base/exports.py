"""FAQ and catalogue exports as CSV or XLSX (the catalogue CSV is the one `hcc kb import` reads back)."""
from __future__ import annotations

import csv
import io

from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge_base.catalogue import all_procedures
from knowledge_base.importers.project import write_csv
from knowledge_base.models import FaqEntry

FORMATS = ("csv", "xlsx")
WHAT = ("faq", "catalogue")
MEDIA = {"csv": "text/csv; charset=utf-8",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
FAQ_COLUMNS = ["id", "question", "variants", "answer", "tags", "procedure_codes", "status", "version", "author", "updated_at"]


def faq_rows(session: Session) -> list[list[str]]:
    """A header and one row per entry; lists one item a line."""
    rows = [FAQ_COLUMNS]
    for e in session.scalars(select(FaqEntry).order_by(FaqEntry.id)):
        rows.append([str(e.id), e.question, "\n".join(e.variants or []), e.answer, "\n".join(e.tags or []),
                     "\n".join(e.procedure_codes or []), e.status, str(e.version), e.author or "",
                     e.updated_at.isoformat() if e.updated_at else ""])
    return rows


def catalogue_rows(session: Session) -> list[list[str]]:
    return list(csv.reader(io.StringIO(write_csv(all_procedures(session)))))


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # the BOM lets Excel read Vietnamese right


def _xlsx(rows: list[list[str]], title: str) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def export(session: Session, what: str, fmt: str) -> tuple[bytes, str, str]:
    """(content, media type, file name) of the FAQ or the catalogue in ``fmt``."""
    if what not in WHAT or fmt not in FORMATS:
        raise ValueError("Cần xuất «faq» hoặc «catalogue», định dạng csv hoặc xlsx.")
    if what == "catalogue" and fmt == "csv":
        content = ("\ufeff" + write_csv(all_procedures(session))).encode("utf-8")
    else:
        rows = faq_rows(session) if what == "faq" else catalogue_rows(session)
        content = _csv(rows) if fmt == "csv" else _xlsx(rows, "Câu hỏi thường gặp" if what == "faq" else "Thủ tục")
    return content, MEDIA[fmt], f"hcc-{what}.{fmt}"
