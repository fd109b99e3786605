"""`hcc kb search/show/dossier` on the demo catalogue, as scripts use them."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from bot.cli import main
from knowledge_base import catalogue


@pytest.fixture
def demo(hcc_env):
    catalogue._shared = None
    result = CliRunner().invoke(main, ["kb", "demo"])
    assert result.exit_code == 0, result.output
    yield
    catalogue._shared = None


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def test_search_json_finds_the_passport_without_diacritics(demo):
    result = invoke("kb", "search", "le phi lam ho chieu", "--top", "3", "--json")
    assert result.exit_code == 0, result.output
    hits = json.loads(result.output)
    assert len(hits) <= 3 and hits[0]["code"] == "1.001456"
    assert set(hits[0]) == {"code", "name", "score"} and 0 < hits[0]["score"] <= 1


def test_search_batch_prints_one_json_array_a_line(demo, tmp_path):
    queries = tmp_path / "q.txt"
    queries.write_text("làm CCCD lần đầu\ndang ky ket hon\n\n", encoding="utf-8")
    result = invoke("kb", "search", "--batch", str(queries), "--top", "2")
    lines = result.output.strip().splitlines()
    assert len(lines) == 3
    first, second, empty = (json.loads(line) for line in lines)
    assert first[0]["code"] in {"1.014061", "1.014062"}
    assert "1.000894" in [hit["code"] for hit in second]
    assert empty == []


def test_show_json_is_the_full_record(demo):
    record = json.loads(invoke("kb", "show", "1.001456", "--json").output)
    assert record["code"] == "1.001456" and record["channels"] and record["documents"]
    assert {"kind", "processing_time", "fee", "fee_amount"} <= set(record["channels"][0])


def test_dossier_json_never_shows_the_phone_hash(demo):
    result = invoke("kb", "dossier", "000.20.31.H49-260908-0013", "--json")
    assert result.exit_code == 0, result.output
    dossier = json.loads(result.output)
    assert dossier["tracking_code"] == "000.20.31.H49-260908-0013" and len(dossier["phone_last4"]) == 4
    assert "phone_hash" not in dossier


@pytest.mark.parametrize(
    "args, message",
    [
        (("kb", "show", "9.999999"), "không có thủ tục"),
        (("kb", "dossier", "000.20.31.H49-260231-0013"), "không đúng định dạng"),
        (("kb", "dossier", "000.20.31.H49-260101-9999"), "không có hồ sơ"),
        (("kb", "search"), "cần câu hỏi"),
    ],
)
def test_bad_input_gets_a_vietnamese_message_and_exit_2(demo, args, message):
    result = invoke(*args)
    assert result.exit_code == 2 and message in result.output
