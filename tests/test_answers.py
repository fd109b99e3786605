"""Replies formatted from the demo catalogue state only what the record says."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from actions import answers
from knowledge_base.records import CHANNEL_LABELS, Channel, Document, ProcedureRecord

DEMO = Path(__file__).resolve().parent.parent / "knowledge_base" / "demo" / "catalogue.yaml"
HOTLINE = "1900 000 000"


def _record(raw: dict) -> ProcedureRecord:
    return ProcedureRecord(
        **{
            **{k: v for k, v in raw.items() if k not in ("channels", "documents")},
            "channels": [Channel(**c) for c in raw.get("channels") or []],
            "documents": [Document(**d) for d in raw.get("documents") or []],
        }
    )


RECORDS = [_record(raw) for raw in yaml.safe_load(DEMO.read_text(encoding="utf-8"))["procedures"]]


def expected_quantity(document: Document) -> str | None:
    parts = [f"{n} {kind}" for n, kind in ((document.original_copies, "bản chính"), (document.copies, "bản sao")) if n]
    return ", ".join(parts) or document.quantity_text


def by_code(code: str) -> ProcedureRecord:
    return next(r for r in RECORDS if r.code == code)


def flat(text: str) -> str:
    return " ".join(text.split())


def stated_fees(reply: answers.Reply) -> dict[str, str]:
    """Channel label → fee text as the reply states it (trim marks removed)."""
    found = {}
    for line in reply.text.splitlines():
        match = re.match(r"^(?:- |Mọi hình thức nộp \()(.+?)\)?: (.+)$", line)
        if match:
            for label in match.group(1).split(", "):
                found[label] = match.group(2)
    return found


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: r.code)
def test_every_reply_cites_the_procedure_and_offers_more_only_when_shortened(record):
    for kind in answers.QUESTION_TYPES:
        short = answers.answer(record, kind, HOTLINE)
        whole = answers.answer(record, kind, HOTLINE, full=True)
        assert f"(mã {record.code})" in short.text and flat(record.name) in short.text
        more = [b for b in short.buttons if b["title"] == answers.MORE_TITLE]
        if more:
            assert whole.text != short.text and len(whole.text) > len(short.text)
            sent = more[0]["payload"]
            assert json.loads(sent[sent.index("{"):]) == {"procedure": record.code, "detail": "full"}
            assert more[0]["payload"].startswith(f"/{answers.QUESTION_INTENTS[kind]}{{")
        else:
            assert whole.text == short.text
        assert not [b for b in whole.buttons if b["title"] == answers.MORE_TITLE]


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: r.code)
def test_fees_stated_equal_the_record_per_channel(record):
    for full in (False, True):
        reply = answers.fee(record, HOTLINE, full=full)
        published = {}
        for channel in record.channels:
            # The demo records state every amount in words too, so the words are what must be said.
            published.setdefault(CHANNEL_LABELS[channel.kind], set()).add(flat(channel.fee) if channel.fee and channel.fee.strip() else None)
        if not any(v for values in published.values() for v in values):
            assert "chưa có thông tin" in reply.text and HOTLINE in reply.text
            continue
        stated = stated_fees(reply)
        assert set(stated) == set(published), reply.text
        for label, said in stated.items():
            options = {flat(v) for v in published[label] if v}
            if not options:
                assert said == "chưa có thông tin"
            elif full:
                assert said in options or set(said.removesuffix(" (tùy trường hợp)").split(" hoặc ")) <= options
            else:  # shortened: a prefix of what the record says, cut at a word
                assert any(o.startswith(said.rstrip("…")) for o in options), (said, options)


def test_fee_differs_per_channel_and_free_is_said():
    passport = answers.fee(by_code("1.001456"), HOTLINE, full=True).text
    assert "- Trực tiếp: 200,000 Việt Nam Đồng" in passport
    assert "- Trực tuyến, Dịch vụ bưu chính: 160,000 Việt Nam Đồng" in passport
    birth = answers.fee(by_code("1.001193"), HOTLINE).text
    assert "Mọi hình thức nộp (Trực tuyến, Dịch vụ bưu chính, Trực tiếp): Miễn phí" in birth
    amount_only = ProcedureRecord("9.000001", "Thủ tục thử", channels=[Channel("truc_tiep", fee_amount=0), Channel("truc_tuyen", fee_amount=25000)])
    text = answers.fee(amount_only, HOTLINE).text
    assert "- Trực tiếp: Miễn phí" in text and "- Trực tuyến: 25.000 đồng" in text


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: r.code)
def test_times_stated_equal_the_record(record):
    reply = answers.processing_time(record, HOTLINE)
    times = {c.processing_time.strip() for c in record.channels if c.processing_time}
    if not times:
        assert "chưa có thông tin" in reply.text and HOTLINE in reply.text
        return
    body = reply.text.split("\n", 1)[1]
    stated = set()
    for line in body.splitlines():
        if ": " in line and not line.startswith("Cần hỗ trợ"):
            value = line.split(": ", 1)[1].removesuffix(" (tùy trường hợp)")
            stated.update(v.removesuffix(" (nguồn công bố không ghi đơn vị thời gian)") for v in value.split(" hoặc "))
    stated.discard("chưa có thông tin")
    assert stated == times, reply.text


def test_committed_time_is_shown_beside_the_statutory_one():
    record = ProcedureRecord("9.000002", "Thủ tục thử", channels=[
        Channel("truc_tiep", processing_time="20 Ngày làm việc", time_unit="ngày làm việc", committed_time="15 ngày làm việc"),
        Channel("truc_tuyen", processing_time="20 Ngày làm việc", time_unit="ngày làm việc"),
    ])
    text = answers.processing_time(record, HOTLINE).text
    assert "- Trực tiếp: theo quy định 20 Ngày làm việc; Trung tâm cam kết 15 ngày làm việc" in text
    assert "- Trực tuyến: 20 Ngày làm việc" in text


def test_a_bare_number_is_not_given_a_unit():
    text = answers.processing_time(by_code("1.001193"), HOTLINE).text
    assert ": 1 (nguồn công bố không ghi đơn vị thời gian)" in text
    assert "ngày" not in text.split("\n", 1)[1].lower().replace("không ghi đơn vị thời gian", "")


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: r.code)
def test_documents_are_numbered_with_the_record_quantities(record):
    whole = answers.documents(record, HOTLINE, full=True).text.splitlines()
    short = answers.documents(record, HOTLINE).text.splitlines()
    assert len(whole) == len(record.documents) + 1
    for number, (line, document) in enumerate(zip(whole[1:], record.documents), 1):
        count = expected_quantity(document)
        expected = f"{number}. {flat(document.name)}" + (f" – {count}" if count else "")
        assert line.startswith(expected), (line, expected)
    numbered = [line for line in short if re.match(r"^\d+\. ", line)]
    assert len(numbered) == min(len(record.documents), answers.SHORT_DOCUMENTS)
    for line, document in zip(numbered, record.documents):
        count = expected_quantity(document)
        assert not count or line.endswith(f" – {count}"), line
        name = re.sub(r"^\d+\. ", "", line).rsplit(" – ", 1)[0] if count else re.sub(r"^\d+\. ", "", line)
        assert flat(document.name).startswith(name.rstrip("…")), (name, document.name)


def test_quantities_read_like_a_counter_clerk():
    assert answers.quantity(Document("Tờ khai", original_copies=1, copies=1)) == "1 bản chính, 1 bản sao"
    assert answers.quantity(Document("Ảnh", original_copies=2, copies=0)) == "2 bản chính"
    assert answers.quantity(Document("Giấy tờ", quantity_text="Bản sao có chứng thực")) == "Bản sao có chứng thực"
    assert answers.quantity(Document("Giấy tờ")) is None


def test_a_long_list_shows_six_and_offers_the_rest():
    birth = by_code("1.001193")
    reply = answers.documents(birth, HOTLINE)
    assert len(birth.documents) > answers.SHORT_DOCUMENTS
    assert f"… và {len(birth.documents) - answers.SHORT_DOCUMENTS} giấy tờ khác" in reply.text
    assert reply.buttons[-1]["payload"] == '/ask_documents{"procedure": "1.001193", "detail": "full"}'


def test_missing_facts_are_said_to_be_missing_with_the_hotline():
    bare = ProcedureRecord("9.000003", "Thủ tục chưa có dữ liệu")
    for kind in answers.QUESTION_TYPES:
        text = answers.answer(bare, kind, HOTLINE).text
        assert "Thủ tục chưa có dữ liệu (mã 9.000003)" in text
        if kind != "overview":
            assert "chưa có thông tin" in text and HOTLINE in text
    assert "Cơ quan thực hiện: chưa có thông tin" in answers.overview(bare, HOTLINE).text
    unpriced = by_code("1.014061")
    assert not any(c.fee or c.fee_amount is not None for c in unpriced.channels)
    assert "chưa có thông tin về phí, lệ phí" in answers.fee(unpriced, HOTLINE).text


def test_where_and_online_come_from_the_record():
    passport = by_code("1.001456")
    where = answers.where(passport, HOTLINE, full=True).text
    assert f"- Nơi tiếp nhận: {flat(passport.address)}" in where
    assert f"- Cơ quan thực hiện: {passport.agency}" in where and "Cấp thực hiện: Cấp tỉnh" in where
    online = answers.online(passport, HOTLINE).text
    assert "có thể nộp hồ sơ trực tuyến" in online and passport.source_url in online
    counter_only = by_code("2.000815")
    assert {c.kind for c in counter_only.channels} == {"truc_tiep"}
    text = answers.online(counter_only, HOTLINE).text
    assert "chưa nhận hồ sơ trực tuyến" in text and "Trực tiếp" in text


def test_overview_offers_the_follow_up_questions():
    reply = answers.overview(by_code("1.000894"), HOTLINE)
    payloads = [b["payload"] for b in reply.buttons]
    assert '/ask_documents{"procedure": "1.000894"}' in payloads and '/ask_fee{"procedure": "1.000894"}' in payloads
    assert "Bước 1:" in reply.text and "Cấp thực hiện: Cấp xã" in reply.text


def test_faq_answers_are_trimmed_with_a_full_option():
    long_answer = "Câu trả lời rất dài. " * 40
    reply = answers.faq(long_answer, 7, [("1.001456", "Cấp hộ chiếu phổ thông ở trong nước")])
    assert len(reply.text) <= answers.SHORT_FAQ_CHARS and reply.text.endswith("…")
    assert reply.buttons[0] == {"title": "Cấp hộ chiếu phổ thông ở trong nước", "payload": '/ask_procedure{"procedure": "1.001456"}'}
    assert reply.buttons[-1]["payload"] == '/inform{"detail": "faq:7"}'
    assert answers.faq_id_of("faq:7") == 7 and answers.faq_id_of("full") is None
    whole = answers.faq(long_answer, 7, full=True)
    assert whole.text == flat(long_answer) and not whole.buttons
