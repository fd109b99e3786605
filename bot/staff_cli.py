"""`hcc staff`: staff accounts from the command line (there are no default passwords)."""
from __future__ import annotations

import sys
from typing import NoReturn

import click

from knowledge_base import staff as accounts
from knowledge_base.db import session_factory, transaction

FIRST_ADMIN_HINT = ("Chưa có tài khoản quản trị. Tạo tài khoản đầu tiên bằng:\n"
                    "  hcc staff add TEN_DANG_NHAP --role admin --name \"Họ và tên\"\n"
                    "(mật khẩu được hỏi hai lần; không có mật khẩu mặc định).")


def _fail(message: str) -> NoReturn:
    click.echo(f"Lỗi: {message}", err=True)
    sys.exit(1)


def first_admin_hint() -> str | None:
    """How to create the first admin, when no active admin exists; None otherwise."""
    with session_factory()() as session:
        return None if accounts.has_admin(session) else FIRST_ADMIN_HINT


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    while True:
        first = click.prompt("Mật khẩu", hide_input=True)
        if click.prompt("Nhập lại mật khẩu", hide_input=True) == first:
            return first
        click.echo("Hai lần nhập không khớp, vui lòng nhập lại.", err=True)


@click.group()
def staff() -> None:
    """Tài khoản cán bộ: tổng đài viên và quản trị viên."""


@staff.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(accounts.ROLES), required=True, help="operator (tổng đài viên) hoặc admin (quản trị).")
@click.option("--name", "full_name", default=None, help="Họ và tên hiển thị cho công dân và đồng nghiệp.")
@click.option("--password-stdin", is_flag=True, help="Đọc mật khẩu từ dòng đầu của đầu vào chuẩn (cho kịch bản).")
def add(username: str, role: str, full_name: str | None, password_stdin: bool) -> None:
    """Tạo tài khoản USERNAME."""
    password = _read_password(password_stdin)
    try:
        accounts.check_password(password)
        with transaction() as session:
            created = accounts.add_staff(session, username, role, password, full_name)
            name, label = created.username, accounts.ROLE_LABELS[created.role]
    except ValueError as error:
        _fail(str(error))
    click.echo(f"Đã tạo tài khoản {name} ({label}).")


@staff.command("list")
def list_() -> None:
    """Liệt kê tài khoản."""
    with session_factory()() as session:
        rows = accounts.list_staff(session)
        if not rows:
            click.echo(FIRST_ADMIN_HINT)
            return
        for member in rows:
            state = "đang hoạt động" if member.active else "đã khóa"
            click.echo(f"{member.username}\t{accounts.ROLE_LABELS[member.role]}\t{member.full_name}\t{state}")


def _set_active(username: str, active: bool) -> str:
    """Unlock or lock the account (locking signs out its sessions); its username, or exit with the reason."""
    try:
        with transaction() as session:
            return accounts.set_active(session, username, active).username
    except ValueError as error:
        _fail(str(error))


@staff.command("disable")
@click.argument("username")
def disable(username: str) -> None:
    """Khóa tài khoản USERNAME và đăng xuất mọi phiên của nó."""
    click.echo(f"Đã khóa tài khoản {_set_active(username, False)}.")


@staff.command("enable")
@click.argument("username")
def enable(username: str) -> None:
    """Mở khóa tài khoản USERNAME."""
    click.echo(f"Đã mở khóa tài khoản {_set_active(username, True)}.")
