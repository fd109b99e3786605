"""What citizens type into forms, checked and normalised; bad input raises ValueError in Vietnamese."""
from __future__ import annotations

from knowledge_base.textfold import storable
from knowledge_base.tracking_code import EXAMPLE as TRACKING_EXAMPLE
from knowledge_base.tracking_code import parse_tracking_code
from nlu.phone import parse_phone_number

PROCEDURE_CODE_MAX = 32  # procedures.code


def text(value: str | None) -> str | None:
    """Trimmed NFC text any database keeps (see textfold.storable), or None when blank."""
    cleaned = storable(value or "").strip()
    return cleaned or None


def phone(value: str | None) -> str | None:
    """A Vietnamese mobile or landline number in national digits (0912345678), or None when blank."""
    if text(value) is None:
        return None
    number = parse_phone_number(value)  # type: ignore[arg-type]
    if number is None:
        raise ValueError(
            "Số điện thoại chưa đúng. Vui lòng nhập số di động 10 chữ số (ví dụ 0912 345 678) "
            "hoặc số cố định 11 chữ số (ví dụ 0203 3 123 456)."
        )
    return number.digits


def tracking_code(value: str | None) -> str | None:
    """A dossier tracking code in its normal form, or None when blank."""
    if text(value) is None:
        return None
    code = parse_tracking_code(value)  # type: ignore[arg-type]
    if code is None:
        raise ValueError(f"Mã hồ sơ chưa đúng định dạng. Mã hồ sơ có dạng {TRACKING_EXAMPLE}.")
    return str(code)


def procedure_code(value: str | None) -> str | None:
    code = text(value)
    if code is not None and (len(code) > PROCEDURE_CODE_MAX or " " in code):
        raise ValueError("Mã thủ tục chưa đúng (ví dụ 1.001193).")
    return code
