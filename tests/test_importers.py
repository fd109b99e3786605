"""Importers: format detection, idempotence, all-or-nothing writes, errors that name the fault."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from bot.cli import main
from knowledge_base import catalogue
from knowledge_base.db import transaction
from knowledge_base.importers import batch as batch_module
from knowledge_base.importers.batch import read_path, store
from knowledge_base.importers.project import read_csv, write_csv
from knowledge_base.models import Dossier, FaqEntry, Procedure
from knowledge_base.privacy import hash_phone
from knowledge_base.records import BadRecord

PROJECT_YAML = """
procedures:
  - code: "1.001193"
    name: "Thủ tục đăng ký khai sinh"
    levels: ["Cấp xã"]
    field: "Hộ tịch"
    aliases: ["làm giấy khai sinh"]
    channels:
      - {kind: truc_tiep, processing_time: "Ngay trong ngày", processing_days: 0, fee: "Miễn lệ phí", fee_amount: 0}
      - {kind: truc_tuyen, processing_time: "1 Ngày làm việc", processing_days: 1, time_unit: "ngày làm việc"}
    documents:
      - {name: "Tờ khai đăng ký khai sinh", original_copies: 1, copies: 0}
      - {name: "Giấy chứng sinh", original_copies: 1}
faq:
  - key: gio-lam-viec
    question: "Trung tâm làm việc giờ nào?"
    variants: ["mấy giờ mở cửa"]
    answer: "Từ thứ Hai đến thứ Sáu."
    procedure_codes: []
dossiers:
  - tracking_code: "000.00.04.H49-261120-0012"
    procedure_code: "1.001193"
    status: dang_xu_ly
    received_at: "2026-11-20T09:15:00"
    due_at: "2026-11-25T17:00:00"
    applicant_name: "Nguyễn Văn An"
    applicant_phone: "0912 345 678"
    result_delivery: quay
"""


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def import_path(path: Path):
    batch = read_path(path)
    with transaction() as session:
        return store(session, batch)


def test_project_yaml_imports_procedures_faq_and_dossiers(hcc_env, session, tmp_path):
    result = import_path(write(tmp_path, "demo.yaml", PROJECT_YAML))
    assert (result.procedures.created, result.faq.created, result.dossiers.created) == (1, 1, 1)

    record = catalogue.get_procedure(session, "1.001193")
    assert [c.kind for c in record.channels] == ["truc_tiep", "truc_tuyen"]
    assert record.channels[0].fee_amount == 0
    assert [(d.name, d.original_copies, d.copies) for d in record.documents] == [
        ("Tờ khai đăng ký khai sinh", 1, 0), ("Giấy chứng sinh", 1, None)]
    dossier = session.scalars(select(Dossier)).one()
    assert dossier.phone_last4 == "5678"
    assert dossier.phone_hash == hash_phone("0912345678") != hash_phone("0912345679")
    assert "0912345678" not in dossier.phone_hash
    assert "phone" not in json.dumps(catalogue.dossier_dict(dossier)).replace("phone_last4", "")


def test_reimport_updates_and_never_duplicates(hcc_env, session, tmp_path):
    path = write(tmp_path, "demo.yaml", PROJECT_YAML)
    import_path(path)
    again = import_path(path)
    assert (again.procedures.unchanged, again.faq.unchanged, again.dossiers.unchanged) == (1, 1, 1)
    changed = import_path(write(tmp_path, "demo.yaml", PROJECT_YAML.replace("Giấy chứng sinh", "Giấy chứng sinh (bản chính)")))
    assert changed.procedures.updated == 1
    assert count(session, Procedure) == 1 and count(session, FaqEntry) == 1 and count(session, Dossier) == 1
    assert catalogue.get_procedure(session, "1.001193").documents[1].name == "Giấy chứng sinh (bản chính)"


def test_reimport_keeps_the_centers_committed_time_and_local_address(hcc_env, session, tmp_path):
    path = write(tmp_path, "demo.yaml", PROJECT_YAML)
    import_path(path)
    with transaction() as writer:
        procedure = writer.scalars(select(Procedure)).one()
        procedure.address = "Trung tâm Phục vụ hành chính công tỉnh"
        procedure.channels[1].committed_time = "4 giờ làm việc"
    import_path(path)
    record = catalogue.get_procedure(session, "1.001193")
    assert record.address == "Trung tâm Phục vụ hành chính công tỉnh"
    assert record.channels[1].committed_time == "4 giờ làm việc"


@pytest.mark.parametrize(
    "bad, field",
    [
        (PROJECT_YAML.replace("kind: truc_tuyen", "kind: qua_mang"), "channels.kind"),
        (PROJECT_YAML.replace('code: "1.001193"', 'code: ""'), "code"),
        (PROJECT_YAML.replace("original_copies: 1, copies: 0", "original_copies: -1, copies: 0"), "documents.original_copies"),
        (PROJECT_YAML.replace("field: \"Hộ tịch\"", "linh_vuc: \"Hộ tịch\""), "linh_vuc"),
        (PROJECT_YAML.replace("261120-0012", "261131-0012"), "tracking_code"),
        (PROJECT_YAML.replace("status: dang_xu_ly", "status: xong"), "status"),
    ],
)
def test_a_bad_record_names_its_field_and_changes_nothing(hcc_env, session, tmp_path, bad, field):
    good = write(tmp_path, "a-good.yaml", PROJECT_YAML.replace("1.001193", "1.000001").replace("gio-lam-viec", "khac").replace("261120-0012", "261120-0013"))
    write(tmp_path, "b-bad.yaml", bad)
    with pytest.raises(BadRecord) as caught:
        import_path(tmp_path)
    assert caught.value.field_name == field
    assert field in str(caught.value)
    assert count(session, Procedure) == 0 and count(session, FaqEntry) == 0
    assert good.exists()


def test_a_failure_while_writing_rolls_everything_back(hcc_env, session, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(batch_module, "upsert_dossiers", broken)
    with pytest.raises(RuntimeError):
        import_path(write(tmp_path, "demo.yaml", PROJECT_YAML))
    assert count(session, Procedure) == 0 and count(session, FaqEntry) == 0


def test_csv_round_trip(hcc_env, session, tmp_path):
    import_path(write(tmp_path, "demo.yaml", PROJECT_YAML))
    original = catalogue.get_procedure(session, "1.001193")
    path = write(tmp_path, "export.csv", write_csv([original]))
    (back,) = read_csv(path)
    assert back.channels == original.channels
    assert back.documents == original.documents
    assert (back.code, back.name, back.aliases, back.levels) == (original.code, original.name, original.aliases, original.levels)


def test_csv_with_a_non_numeric_fee_names_row_and_column(tmp_path):
    path = write(tmp_path, "c.csv", "code,name,truc_tiep_fee_amount\n1.000001,Thủ tục A,hai trăm\n")
    with pytest.raises(BadRecord) as caught:
        read_csv(path)
    assert caught.value.record == "1.000001" and caught.value.field_name == "truc_tiep_fee_amount"


def test_unknown_files_and_missing_paths_are_refused(tmp_path):
    with pytest.raises(BadRecord, match="không tìm thấy"):
        read_path(tmp_path / "absent")
    with pytest.raises(BadRecord, match="không nhận ra"):
        read_path(write(tmp_path, "x.json", '{"hello": 1}'))
    with pytest.raises(BadRecord, match="JSON không hợp lệ"):
        read_path(write(tmp_path, "y.json", "{broken"))


# --- the real shared files ---

def test_portal_crawl_imports_every_record_once(hcc_env, session, shared_data):
    first = import_path(shared_data / "catalogue" / "dvc")
    assert first.procedures.created == 2642
    assert first.quality.total == 2642
    second = import_path(shared_data / "catalogue" / "dvc")
    assert second.procedures.unchanged == 2642 and second.procedures.created == 0
    assert count(session, Procedure) == 2642
    record = catalogue.get_procedure(session, "1.000178")
    assert record.field == "Khiếu nại, tố cáo" and record.levels == ["Cấp bộ"]


def test_bqp_structured_tables_become_channels_and_documents(hcc_env, session, shared_data):
    result = import_path(shared_data / "catalogue" / "bqp_structured")
    assert result.procedures.created == 207
    record = catalogue.get_procedure(session, "1.013124")
    assert [c.kind for c in record.channels] == ["truc_tiep", "truc_tuyen", "buu_chinh"]
    assert record.channels[0].processing_days == 30 and record.channels[0].time_unit == "ngày làm việc"
    assert record.channels[0].fee_amount == 0
    assert record.documents[0].original_copies == 1 and record.documents[0].copies == 0


def test_listing_adds_new_procedures_and_fills_only_what_is_empty(hcc_env, session, shared_data, tmp_path):
    import_path(shared_data / "catalogue" / "dvc" / "bo-cong-an")
    before = catalogue.get_procedure(session, "1.000178")
    result = import_path(shared_data / "catalogue" / "listings" / "danh-sach-tthc-BoCongAn.xlsx")
    assert result.procedures.created + result.procedures.updated + result.procedures.unchanged == 339
    after = catalogue.get_procedure(session, "1.000178")
    assert after == before  # the portal record is richer; the listing does not overwrite it
    assert catalogue.get_procedure(session, "1.015027").field == "Chính sách"


def test_listing_with_a_row_missing_its_code_changes_nothing(hcc_env, session, shared_data, tmp_path):
    source = shared_data / "catalogue" / "listings" / "danh-sach-tthc-BoTuPhap.xlsx"
    broken = tmp_path / "broken.xlsx"
    shutil.copy(source, broken)
    workbook = openpyxl.load_workbook(broken)
    workbook.worksheets[0]["A10"] = None
    workbook.save(broken)
    with pytest.raises(BadRecord) as caught:
        import_path(broken)
    assert "dòng 10" in str(caught.value) and caught.value.field_name == "Mã số"
    assert count(session, Procedure) == 0


def test_portal_faq_lines(hcc_env, session, shared_data):
    result = import_path(shared_data / "faq" / "dvc_faq.jsonl")
    assert result.faq.created == 2413
    assert import_path(shared_data / "faq" / "dvc_faq.jsonl").faq.unchanged == 2413
    entry = session.scalars(select(FaqEntry).where(FaqEntry.external_id == "dvc-11451")).one()
    assert entry.status == "published" and entry.answer.startswith("Theo quy định")


def test_cli_import_reports_quality_and_refuses_a_bad_file(hcc_env, session, tmp_path):
    runner = CliRunner()
    ok = runner.invoke(main, ["kb", "import", str(write(tmp_path, "demo.yaml", PROJECT_YAML))])
    assert ok.exit_code == 0, ok.output
    assert "Thủ tục: thêm mới 1" in ok.output and "thành phần hồ sơ" in ok.output
    bad = runner.invoke(main, ["kb", "import", str(write(tmp_path, "bad.yaml", "procedures: [{code: '1.2', name: ''}]"))])
    assert bad.exit_code == 2
    assert "Không có thay đổi nào được ghi" in bad.output
    assert count(session, Procedure) == 1
