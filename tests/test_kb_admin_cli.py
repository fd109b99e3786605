"""`hcc kb faq …`, `hcc kb import --dry-run` and `hcc kb export`: the admin operations for scripts."""
from __future__ import annotations

import json

from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import func, select

from bot.cli import main
from knowledge_base import catalogue
from knowledge_base.db import session_factory
from knowledge_base.models import AuditLog, FaqVersion


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def test_faq_add_publish_unpublish_rollback(hcc_env):
    assert invoke("kb", "demo").exit_code == 0
    added = invoke("kb", "faq", "add", "--question", "Trung tâm có wifi không?", "--answer", "Có wifi miễn phí.",
                   "--variant", "wifi ở trung tâm", "--procedure", "3.000347")
    assert added.exit_code == 0, added.output
    entry = json.loads(invoke("kb", "faq", "list", "--search", "wifi", "--json").output)[0]
    assert entry["status"] == "draft" and entry["procedure_codes"] == ["3.000347"]
    faq_id = str(entry["id"])
    assert "đã xuất bản" in invoke("kb", "faq", "publish", faq_id).output
    assert "bản nháp" in invoke("kb", "faq", "unpublish", faq_id).output
    rolled = invoke("kb", "faq", "rollback", faq_id, "2")
    assert rolled.exit_code == 0 and "v4" in rolled.output and "đã xuất bản" in rolled.output
    bad = invoke("kb", "faq", "add", "--question", "Hỏi?", "--answer", "Đáp.", "--procedure", "9.999999")
    assert bad.exit_code == 2 and "9.999999" in bad.output
    with session_factory()() as session:
        assert session.scalar(select(func.count()).select_from(FaqVersion).where(FaqVersion.faq_id == int(faq_id))) == 4
        assert session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.actor.like("cli:%"))) == 4


def test_import_dry_run_writes_nothing_and_export_round_trips(hcc_env, tmp_path):
    assert invoke("kb", "demo").exit_code == 0
    upload = tmp_path / "moi.csv"
    upload.write_text("code,name,truc_tiep_fee\n9.900001,Thủ tục thử nghiệm,10.000 đồng\n", encoding="utf-8")
    preview = invoke("kb", "import", "--dry-run", str(upload))
    assert preview.exit_code == 0 and "+ 9.900001" in preview.output and "thủ tục mới 1" in preview.output
    with session_factory()() as session:
        assert catalogue.get_procedure(session, "9.900001") is None
    exported = tmp_path / "danh-muc.csv"
    assert invoke("kb", "export", "catalogue", "--format", "csv", "-o", str(exported)).exit_code == 0
    # The first import normalises what CSV cannot carry (channel order, trailing newlines); then it is a fixed point.
    assert invoke("kb", "import", str(exported)).exit_code == 0
    assert invoke("kb", "export", "catalogue", "--format", "csv", "-o", str(exported)).exit_code == 0
    again = invoke("kb", "import", "--dry-run", str(exported))
    assert again.exit_code == 0 and "thủ tục mới 0, thay đổi 0" in again.output, again.output
    book = tmp_path / "faq.xlsx"
    assert invoke("kb", "export", "faq", "--format", "xlsx", "-o", str(book)).exit_code == 0
    assert next(load_workbook(book).active.iter_rows(values_only=True))[1] == "question"
