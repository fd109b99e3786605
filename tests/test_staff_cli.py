"""`hcc staff`: add, list, disable, enable; no default password; the first-admin hint."""
from __future__ import annotations

from click.testing import CliRunner

from bot.cli import main
from bot.staff_cli import first_admin_hint
from knowledge_base import staff as accounts
from knowledge_base.db import session_factory

PASSWORD = "mật-khẩu-quản-trị-1"


def _staff(args: list[str], stdin: str | None = None):
    return CliRunner().invoke(main, ["staff", *args], input=stdin)


def test_add_list_disable(hcc_env):
    assert first_admin_hint() is not None
    created = _staff(["add", "QuanTri", "--role", "admin", "--name", "Lê Thị Hoa", "--password-stdin"], PASSWORD + "\n")
    assert created.exit_code == 0, created.output
    assert "quantri" in created.output and "Quản trị viên" in created.output
    assert first_admin_hint() is None
    prompted = _staff(["add", "lan", "--role", "operator"], f"{PASSWORD}\n{PASSWORD}\n")  # asked twice
    assert prompted.exit_code == 0, prompted.output
    listed = _staff(["list"]).output
    assert "quantri\tQuản trị viên\tLê Thị Hoa\tđang hoạt động" in listed and "lan\tTổng đài viên" in listed
    with session_factory()() as session:
        assert accounts.authenticate(session, "quantri", PASSWORD) is not None
    disabled = _staff(["disable", "lan"])
    assert disabled.exit_code == 0 and "Đã khóa" in disabled.output
    assert "lan\tTổng đài viên\tlan\tđã khóa" in _staff(["list"]).output
    with session_factory()() as session:
        assert accounts.authenticate(session, "lan", PASSWORD) is None
    enabled = _staff(["enable", "LAN"])
    assert enabled.exit_code == 0 and "Đã mở khóa tài khoản lan." in enabled.output
    assert "lan\tTổng đài viên\tlan\tđang hoạt động" in _staff(["list"]).output


def test_bad_input_creates_nothing(hcc_env):
    mismatch = _staff(["add", "lan", "--role", "operator"], f"{PASSWORD}\nkhac-hoan-toan-1\n{PASSWORD}\n{PASSWORD}\n")
    # A mismatched confirmation is asked again; the account gets the password typed the same twice.
    assert mismatch.exit_code == 0 and "không khớp" in mismatch.output
    with session_factory()() as session:
        assert accounts.authenticate(session, "lan", PASSWORD) is not None
    short = _staff(["add", "minh", "--role", "operator", "--password-stdin"], "ngan\n")
    assert short.exit_code != 0 and "ít nhất 10 ký tự" in short.output
    empty = _staff(["add", "hoa", "--role", "operator", "--password-stdin"], "\n")
    assert empty.exit_code != 0
    bad_role = _staff(["add", "hoa", "--role", "root", "--password-stdin"], PASSWORD + "\n")
    assert bad_role.exit_code != 0
    duplicate = _staff(["add", "lan", "--role", "admin", "--password-stdin"], PASSWORD + "\n")
    assert duplicate.exit_code != 0 and "đã có" in duplicate.output
    assert _staff(["disable", "khong-co"]).exit_code != 0
    missing = _staff(["enable", "khong-co"])
    assert missing.exit_code != 0 and "Không có tài khoản «khong-co»" in missing.output
    with session_factory()() as session:
        assert [s.username for s in accounts.list_staff(session)] == ["lan"]
