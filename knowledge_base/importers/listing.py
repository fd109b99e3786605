"""The ministries' listing spreadsheets (Mã số, Tên, Cơ quan ban hành, Cơ quan thực hiện, Lĩnh vực)."""
from __future__ import annotations

from pathlib import Path

from knowledge_base.records import BadRecord, ProcedureRecord

HEADER = ("mã số", "tên")


def _header_row(rows: list[tuple]) -> int | None:
    for index, row in enumerate(rows[:20]):
        cells = [str(c or "").strip().lower() for c in row]
        if len(cells) >= 2 and tuple(cells[:2]) == HEADER:
            return index
    return None


def is_listing(path: Path) -> bool:
    return path.suffix.lower() == ".xlsx"


def read_xlsx(path: Path) -> list[ProcedureRecord]:
    """Every row under the header of every sheet; a row without code or name is an error."""
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises several unrelated types for a broken file
        raise BadRecord(path.name, None, None, f"không mở được bảng tính: {error}") from None
    records: list[ProcedureRecord] = []
    for sheet in workbook.worksheets:
        rows = list(sheet.iter_rows(values_only=True))
        header = _header_row(rows)
        if header is None:
            continue
        columns = [str(c or "").strip().lower() for c in rows[header]]
        for offset, row in enumerate(rows[header + 1 :], start=header + 2):
            cells = dict(zip(columns, (str(c).strip() if c is not None else "" for c in row)))
            if not any(cells.values()):
                continue
            code, name = cells.get("mã số", ""), cells.get("tên", "")
            where = f"{sheet.title}!dòng {offset}"
            if not code:
                raise BadRecord(path.name, where, "Mã số", "thiếu mã thủ tục")
            if not name:
                raise BadRecord(path.name, code, "Tên", "thiếu tên thủ tục")
            agency = "; ".join(part.strip() for part in cells.get("cơ quan thực hiện", "").splitlines() if part.strip())
            records.append(
                ProcedureRecord(
                    code=code,
                    name=" ".join(name.split()),
                    field=cells.get("lĩnh vực") or None,
                    agency=agency or None,
                    source="listing",
                )
            )
    workbook.close()
    if not records:
        raise BadRecord(path.name, None, None, "không tìm thấy bảng có cột «Mã số» và «Tên»")
    return records
