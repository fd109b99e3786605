"""Applicant phone numbers are kept only as a salted hash plus the last four digits."""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from pathlib import Path

from bot.settings import get_settings


def phone_digits(phone: str) -> str:
    """'+84 912.345.678' → '0912345678' (national form, digits only)."""
    digits = re.sub(r"\D", "", phone)
    if digits.startswith("84") and len(digits) >= 11:
        digits = "0" + digits[2:]
    return digits


def salt() -> str:
    """HCC_PHONE_SALT, or a random salt made once and kept in the var folder."""
    settings = get_settings()
    if settings.phone_hash_salt:
        return settings.phone_hash_salt
    path = Path(settings.var_dir) / "phone_salt"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(16))
        path.chmod(0o600)
    return path.read_text().strip()


def hash_phone(phone: str, salt_value: str | None = None) -> str:
    key = (salt_value or salt()).encode()
    return hmac.new(key, phone_digits(phone).encode(), hashlib.sha256).hexdigest()


def last4(phone: str) -> str:
    return phone_digits(phone)[-4:]
