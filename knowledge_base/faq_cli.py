"""`hcc kb faq`: the FAQ admin operations for scripts (the same functions as the /admin API)."""
from __future__ import annotations

import getpass
import json

import click

from knowledge_base import faq_admin
from knowledge_base.db import session_factory, transaction


def _actor() -> str:
    return f"cli:{getpass.getuser()}"[:64]


def _run(work) -> None:
    try:
        click.echo(work())
    except (ValueError, LookupError) as error:
        click.echo(f"Lỗi: {error} Không có thay đổi nào được ghi.", err=True)
        raise SystemExit(2) from None


def _line(entry) -> str:
    label = faq_admin.STATUS_LABELS.get(entry.status, entry.status)
    return f"{entry.id:>6}  v{entry.version:<3} {label:<13} {entry.question}"


@click.group("faq")
def faq() -> None:
    """Câu hỏi thường gặp: xem, thêm, xuất bản, gỡ, khôi phục phiên bản."""


@faq.command("list")
@click.option("--search", "query", help="Tìm trong câu hỏi, câu trả lời, nhãn (có dấu hoặc không).")
@click.option("--status", type=click.Choice(faq_admin.STATUSES))
@click.option("--json", "as_json", is_flag=True)
def list_(query: str | None, status: str | None, as_json: bool) -> None:
    """Liệt kê câu hỏi thường gặp, mới sửa trước."""
    with session_factory()() as session:
        entries = faq_admin.list_entries(session, query, status)
        if as_json:
            click.echo(json.dumps([faq_admin.as_dict(e) for e in entries], ensure_ascii=False, indent=2))
        else:
            for entry in entries:
                click.echo(_line(entry))


@faq.command("add")
@click.option("--question", required=True)
@click.option("--answer", required=True)
@click.option("--variant", "variants", multiple=True, help="Cách hỏi khác (lặp lại được).")
@click.option("--tag", "tags", multiple=True)
@click.option("--procedure", "codes", multiple=True, help="Mã thủ tục liên kết (lặp lại được).")
@click.option("--publish", is_flag=True, help="Xuất bản ngay.")
def add(question: str, answer: str, variants, tags, codes, publish: bool) -> None:
    """Thêm một câu hỏi (bản nháp, hoặc xuất bản ngay với --publish)."""
    def work() -> str:
        data = faq_admin.parse_input({"question": question, "answer": answer, "variants": list(variants),
                                      "tags": list(tags), "procedure_codes": list(codes)})
        with transaction() as session:
            return _line(faq_admin.create(session, _actor(), data, publish))

    _run(work)


def _status_command(name: str, status: str, help_text: str) -> None:
    @faq.command(name, help=help_text)
    @click.argument("faq_id", type=int)
    def command(faq_id: int) -> None:
        def work() -> str:
            with transaction() as session:
                return _line(faq_admin.set_status(session, _actor(), faq_id, status))

        _run(work)


_status_command("publish", "published", "Xuất bản câu hỏi FAQ_ID (có hiệu lực ngay với trợ lý ảo).")
_status_command("unpublish", "draft", "Gỡ câu hỏi FAQ_ID về bản nháp.")


@faq.command("rollback")
@click.argument("faq_id", type=int)
@click.argument("version", type=int)
def rollback(faq_id: int, version: int) -> None:
    """Khôi phục câu hỏi FAQ_ID về phiên bản VERSION (tạo phiên bản mới)."""
    def work() -> str:
        with transaction() as session:
            return _line(faq_admin.rollback(session, _actor(), faq_id, version))

    _run(work)
