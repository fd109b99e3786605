"""Staff accounts: argon2id password hashes, roles, enabling and disabling."""
from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge_base import form_input
from knowledge_base.models import AuditLog, StaffUser
from knowledge_base.staff_sessions import end_all

ROLES = ("operator", "admin")
ROLE_LABELS = {"operator": "Tổng đài viên", "admin": "Quản trị viên"}
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD = 10

_hasher = PasswordHasher()  # argon2id with the library's current parameters (RFC 9106 low-memory profile)
# Verified when the username is unknown, so a wrong name costs the same time as a wrong password.
_DUMMY_HASH = _hasher.hash("tài khoản không tồn tại")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError, UnicodeEncodeError):  # a corrupt stored hash opens nothing
        return False


def normal_username(username: str) -> str:
    return (form_input.text(username) or "").lower()


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"Mật khẩu phải có ít nhất {MIN_PASSWORD} ký tự.")
    if password.strip() != password:
        raise ValueError("Mật khẩu không được bắt đầu hoặc kết thúc bằng khoảng trắng.")


def add_staff(session: Session, username: str, role: str, password: str, full_name: str | None = None,
              actor: str = "cli") -> StaffUser:
    """Create an active account; a bad name, role or password (or a taken name) raises ValueError."""
    name = normal_username(username)
    if not USERNAME.match(name):
        raise ValueError("Tên đăng nhập chỉ gồm chữ thường không dấu, số, dấu chấm, gạch dưới, gạch ngang (2–64 ký tự).")
    if role not in ROLES:
        raise ValueError(f"Vai trò không hợp lệ: {role!r} (chỉ nhận {', '.join(ROLES)}).")
    check_password(password)
    if find(session, name) is not None:
        raise ValueError(f"Tên đăng nhập «{name}» đã có.")
    staff = StaffUser(username=name, full_name=form_input.text(full_name) or name, role=role,
                      password_hash=hash_password(password), active=True)
    session.add(staff)
    session.add(AuditLog(actor=actor, action="staff_added", target=name, details={"role": role}))
    session.flush()
    return staff


def find(session: Session, username: str) -> StaffUser | None:
    return session.scalars(select(StaffUser).where(StaffUser.username == normal_username(username))).first()


def authenticate(session: Session, username: str, password: str) -> StaffUser | None:
    """The active account these credentials open, or None; an outdated hash is upgraded on the way."""
    staff = find(session, username)
    if staff is None or not staff.active:
        verify_password(_DUMMY_HASH, password)
        return None
    if not verify_password(staff.password_hash, password):
        return None
    if _hasher.check_needs_rehash(staff.password_hash):
        staff.password_hash = hash_password(password)
    return staff


def set_active(session: Session, username: str, active: bool, actor: str = "cli") -> StaffUser:
    """Disable (or re-enable) an account; disabling also ends its open sessions."""
    staff = find(session, username)
    if staff is None:
        raise ValueError(f"Không có tài khoản «{normal_username(username)}».")
    staff.active = active
    if not active:
        end_all(session, staff.id)
    session.add(AuditLog(actor=actor, action="staff_enabled" if active else "staff_disabled", target=staff.username))
    session.flush()
    return staff


def list_staff(session: Session) -> list[StaffUser]:
    return list(session.scalars(select(StaffUser).order_by(StaffUser.role.desc(), StaffUser.username)))


def has_admin(session: Session) -> bool:
    return session.scalars(select(StaffUser.id).where(StaffUser.role == "admin", StaffUser.active.is_(True))).first() is not None
