"""The curated demo catalogue: loads into an empty database, and its facts match the national records."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from knowledge_base import catalogue
from knowledge_base.cli import DEMO
from knowledge_base.importers.batch import read_path
from knowledge_base.textfold import nfc


@pytest.fixture(scope="module")
def demo():
    return read_path(DEMO)


def squash(text: str) -> str:
    """Lower case, no spaces or punctuation (the portal's flattened text loses separators),
    and a doubled two-word phrase once (the portal's typo "đăng ký đăng ký")."""
    text = re.sub(r"\b(\w+ \w+) \1\b", r"\1", nfc(text).lower())
    return re.sub(r"[\W_]+", "", text)


def document_head(name: str) -> str:
    """The start of a document's name, without the case label the demo puts before a colon."""
    label, _, rest = name.partition(": ")
    name = rest if rest and len(label) < 60 else name
    return squash(name.split("(")[0])[:30]


def national(shared_data: Path, code: str) -> dict:
    (path,) = list((shared_data / "catalogue" / "dvc").glob(f"*/{code}.json"))
    return json.loads(path.read_text(encoding="utf-8"))


def test_demo_sizes_and_links(demo):
    assert len(demo.procedures) >= 40 and len(demo.faq) >= 30 and 45 <= len(demo.dossiers) <= 60
    codes = {p.code for p in demo.procedures}
    assert {c for f in demo.faq for c in f.procedure_codes} <= codes
    assert {d.procedure_code for d in demo.dossiers} <= codes
    assert len({d.status for d in demo.dossiers}) == 6


def test_demo_facts_come_from_the_national_catalogue(demo, shared_data):
    for procedure in demo.procedures:
        raw = national(shared_data, procedure.code)
        assert procedure.source_url == raw["detail_url"], procedure.code
        text = squash(raw["raw_text"] + raw["thanh_phan_ho_so"] + raw["cach_thuc_thuc_hien"])
        for document in procedure.documents:
            head = document_head(document.name)
            assert head in text, (procedure.code, document.name)
        for channel in procedure.channels:
            if channel.fee_amount:
                published = {f"{channel.fee_amount:,}".replace(",", sep) for sep in ".,"}
                assert any(p in raw["cach_thuc_thuc_hien"] + raw["raw_text"] for p in published), (procedure.code, channel)
            if channel.processing_days:
                assert re.search(rf"(?<!\d){channel.processing_days:g}(?!\d)", raw["cach_thuc_thuc_hien"] + raw["raw_text"]), (procedure.code, channel)


def test_make_run_loads_the_demo_once(hcc_env, session):
    runner = CliRunner()
    first = runner.invoke(main, ["kb", "demo"])
    assert first.exit_code == 0, first.output
    counts = catalogue.counts(session)
    assert counts["procedures"] >= 40 and counts["faq"] >= 30 and counts["dossiers"] >= 45
    second = runner.invoke(main, ["kb", "demo"])
    assert "bỏ qua dữ liệu mẫu" in second.output
    assert catalogue.counts(session) == counts
