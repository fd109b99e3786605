"""The National Public Service Portal importer: flattened tables split back into channels and papers."""
from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from knowledge_base.importers.dvc import page_tables, parse_record, read_dir
from knowledge_base.importers.portal_tables import (
    fee_amount,
    parse_channels,
    parse_documents,
    parse_legal_basis,
    parse_result,
)
from knowledge_base.importers.report import parse_quality

CHANNEL_HEADER = "Hình thức nộpThời gianPhí, lệ phíMô tả"
DOCUMENT_HEADER = "Tên giấy tờMẫu đơn, tờ khaiSố lượng"


def raw_record(**fields: str) -> dict:
    """A portal record with only the fields the importer needs."""
    raw = {
        "ma_thu_tuc": "1.000001",
        "ten_thu_tuc": "Thủ tục thử",
        "cach_thuc_thuc_hien": CHANNEL_HEADER + "Trực tiếp5 Ngày làm việcMiễn phí",
        "thanh_phan_ho_so": "--",
        "raw_text": "",
    }
    raw.update(fields)
    return raw


def page(channels: str, documents: str, steps: str = "Bước 1: Nộp hồ sơ.") -> str:
    """A page text laid out as the crawl keeps it: every section glued to its title."""
    return (
        f"Thủ tục thửTên thủ tụcThủ tục thửTrình Tự Thực Hiện{steps}Cách Thức Thực Hiện{channels}"
        f"Thành phần hồ sơ{documents}Căn cứ pháp lýKhông có thông tinCơ quan thực hiệnSở Tư pháp"
    )


# ---------------------------------------------------------------- channels


def test_several_channels_keep_order_time_fee_and_description() -> None:
    text = (
        CHANNEL_HEADER
        + "Trực tuyến20 Ngày làm việcMiễn phíNộp qua Cổng Dịch vụ công quốc gia."
        + "Trực tiếp15 Ngày làm việc200,000 Việt Nam Đồng(200.000 đồng/giấy)Nộp tại Bộ phận Một cửa."
        + "Dịch vụ bưu chính3 ThángKhông có thông tinKhông có thông tin"
    )
    online, counter, post = parse_channels(text)
    assert [online.kind, counter.kind, post.kind] == ["truc_tuyen", "truc_tiep", "buu_chinh"]
    assert (online.processing_time, online.processing_days, online.time_unit) == ("20 Ngày làm việc", 20.0, "ngày làm việc")
    assert (online.fee, online.fee_amount) == ("Miễn phí", 0)
    assert online.description == "Nộp qua Cổng Dịch vụ công quốc gia."
    assert counter.fee == "200,000 Việt Nam Đồng(200.000 đồng/giấy)"
    assert counter.fee_amount == 200_000
    assert counter.description == "Nộp tại Bộ phận Một cửa."
    assert (post.processing_time, post.processing_days, post.time_unit) == ("3 Tháng", 3.0, "tháng")
    assert (post.fee, post.fee_amount, post.description) == (None, None, None)


def test_submission_form_words_inside_a_description_do_not_start_a_row() -> None:
    text = CHANNEL_HEADER + "Trực tuyến5 Ngày làm việcMiễn phíTrực tuyến: nộp hồ sơ qua Cổng, Trực tiếp tại Sở."
    (channel,) = parse_channels(text)
    assert channel.description == "Trực tuyến: nộp hồ sơ qua Cổng, Trực tiếp tại Sở."


def test_a_worded_time_is_kept_and_repeated_rows_still_split() -> None:
    time_text = "Hệ thống phản hồi tự động qua phương thức điện tử."
    text = CHANNEL_HEADER + f"Trực tiếp{time_text}Không có thông tinTại Trung tâm" + f"Trực tuyến{time_text}Không có thông tinQua Cổng"
    counter, online = parse_channels(text)
    assert (counter.kind, online.kind) == ("truc_tiep", "truc_tuyen")
    assert counter.processing_time == online.processing_time == time_text
    assert counter.processing_days is None and counter.fee is None
    assert (counter.description, online.description) == ("Tại Trung tâm", "Qua Cổng")


def test_same_day_and_hours() -> None:
    same_day, hours = parse_channels(CHANNEL_HEADER + "Trực tiếpTrong ngàyMiễn phíTrực tuyến4 GiờMiễn phí")
    assert (same_day.processing_time, same_day.processing_days, same_day.time_unit) == ("Trong ngày", 0.0, "ngày")
    assert (hours.processing_time, hours.processing_days, hours.time_unit) == ("4 Giờ", 4.0, "giờ")


def test_time_without_unit_keeps_the_number_and_no_unit() -> None:
    (channel,) = parse_channels(CHANNEL_HEADER + "Trực tuyến1Miễn phí")
    assert (channel.processing_time, channel.processing_days, channel.time_unit) == ("1", 1.0, None)
    assert channel.fee_amount == 0


def test_time_without_unit_takes_working_days_only_from_its_own_description() -> None:
    stated, other = parse_channels(
        CHANNEL_HEADER
        + "Trực tuyến3Miễn phíTrong thời hạn 03 ngày làm việc kể từ ngày nhận đủ hồ sơ."
        + "Trực tiếp1Miễn phíTrong thời hạn 03 ngày làm việc kể từ ngày nhận đủ hồ sơ."
    )
    assert (stated.processing_days, stated.time_unit) == (3.0, "ngày làm việc")
    assert (other.processing_days, other.time_unit) == (1.0, None)  # never borrowed from another number


def test_time_without_unit_glued_to_a_fee_amount() -> None:
    (channel,) = parse_channels(
        CHANNEL_HEADER + "Trực tuyến1100 VNĐ(Phí công bố nội dung đăng ký doanh nghiệp: 100.000 đồng/lần)"
    )
    assert (channel.processing_time, channel.processing_days, channel.time_unit) == ("1", 1.0, None)
    assert channel.fee == "100 VNĐ(Phí công bố nội dung đăng ký doanh nghiệp: 100.000 đồng/lần)"
    assert channel.fee_amount == 100_000


def test_a_second_parenthesis_after_the_fee_note_is_the_description() -> None:
    (channel,) = parse_channels(
        CHANNEL_HEADER + "Trực tiếpKhông có thông tin4,000,000 Việt Nam Đồng(theo Thông tư số 10/2024/TT-BTC)"
        "(1) Trường hợp cấp giấy phép thăm dò khoáng sản nhóm I"
    )
    assert channel.processing_time is None
    assert channel.fee == "4,000,000 Việt Nam Đồng(theo Thông tư số 10/2024/TT-BTC)"
    assert channel.fee_amount == 4_000_000
    assert channel.description == "(1) Trường hợp cấp giấy phép thăm dò khoáng sản nhóm I"


@pytest.mark.parametrize(
    ("fee", "amount"),
    [
        ("Miễn phí", 0),
        ("Miễn phí(Không có)", 0),
        ("Phí : 0 Đồng", 0),
        ("Lệ phí : 200.000 Đồng", 200_000),
        ("300,000 Việt Nam Đồng", 300_000),
        ("150,000 Việt Nam Đồng(150.000 đồng/1 giấy)", 150_000),
        ("2,000,000 VNĐ(* Theo Thông tư 25/2022/TT-BTC: 02 triệu đồng/Giấy chứng nhận.)", 2_000_000),
        ("135 VNĐ(Lệ phí cấp giấy phép lái xe: 135.000 đồng/lần)", 135_000),  # stated in thousands
        ("850 VNĐ", None),  # thousands or not: nothing confirms it
        ("4,000,000 Việt Nam Đồng(áp dụng mức phí 2.000.000 đồng/hồ sơ đến hết ngày 31/12/2026)", None),
        ("Miễn phí(Mức lệ phí cụ thể do Hội đồng nhân dân tỉnh quyết định.)", None),
        ("Miễn phí(Lệ phí cấp mới 40.000đồng/lần; lệ phí cấp lại 20.000 đồng/lần)", None),
        ("145 USD(Thẻ tạm trú có thời hạn không quá 02 năm: 145 USD/thẻ.)", None),
        (None, None),
    ],
)
def test_fee_amount_only_when_one_amount_is_stated(fee: str | None, amount: int | None) -> None:
    assert fee_amount(fee) == amount


# ---------------------------------------------------------------- documents


def test_several_documents_with_originals_and_copies() -> None:
    text = (
        "--" + DOCUMENT_HEADER
        + "Đơn đề nghị cấp giấy phép1 bản chính"
        + "- Bản sao giấy khai sinh0 bản chính,1 bản sao"
        + "02 ảnh 4x6 cm, phông nền trắng2 bản chính"
        + "Giấy tờ chứng minh nơi cư trú1 bản chính,1 bản sao"
    )
    documents = parse_documents(text)
    assert [(d.name, d.original_copies, d.copies) for d in documents] == [
        ("Đơn đề nghị cấp giấy phép", 1, None),
        ("Bản sao giấy khai sinh", 0, 1),
        ("02 ảnh 4x6 cm, phông nền trắng", 2, None),
        ("Giấy tờ chứng minh nơi cư trú", 1, 1),
    ]
    assert all(d.template is None and d.quantity_text is None for d in documents)


def test_quantity_words_inside_names_and_numbers_glued_to_the_quantity() -> None:
    text = (
        "--" + DOCUMENT_HEADER
        + "Tờ khai theo Mẫu số 181 bản chính,1 bản sao"  # "Mẫu số 18" + "1 bản chính"
        + "Tờ khai hải quan: 01 bản chính1 bản chính"  # the name itself says "01 bản chính"
        + "01 bản chính văn bản đề nghị (nộp kèm 01 bản chính)1 bản chính"
    )
    assert [(d.name, d.original_copies, d.copies) for d in parse_documents(text)] == [
        ("Tờ khai theo Mẫu số 18", 1, 1),
        ("Tờ khai hải quan: 01 bản chính", 1, None),
        ("01 bản chính văn bản đề nghị (nộp kèm 01 bản chính)", 1, None),
    ]


@pytest.mark.parametrize(
    ("row", "name", "template"),
    [
        (
            "Phiếu thu nhận thông tin căn cước (Mẫu CC01 ban hành kèm theo Thông tư số 17/2024/TT-BCA)"
            "Mẫu CC01 Phiếu thu nhận thông tin căn cước.doc",
            "Phiếu thu nhận thông tin căn cước (Mẫu CC01 ban hành kèm theo Thông tư số 17/2024/TT-BCA)",
            "Mẫu CC01 Phiếu thu nhận thông tin căn cước.doc",
        ),
        (
            "Tờ trình đề nghị khen thưởngMẫu số 1.1 To trinh.docxMẫu số 1.2- Bien ban.docx",
            "Tờ trình đề nghị khen thưởng",
            "Mẫu số 1.1 To trinh.docx; Mẫu số 1.2- Bien ban.docx",
        ),
        ("Văn bản đề nghị theo quy địnhvăn bản đề nghị.docx", "Văn bản đề nghị theo quy định", "văn bản đề nghị.docx"),
        ("Bản khai chungBnkhaichung.docx", "Bản khai chung", "Bnkhaichung.docx"),
        ("Đơn khiếu nại (theo mẫu)Đơn khiếu nại.doc", "Đơn khiếu nại (theo mẫu)", "Đơn khiếu nại.doc"),
        ("Tờ khai;mau so 20.doc", "Tờ khai", "mau so 20.doc"),
        ("Báo cáo tình hình thực hiện (file .pdf hoặc bản giấy)", "Báo cáo tình hình thực hiện (file .pdf hoặc bản giấy)", None),
    ],
)
def test_template_file_names_go_to_template(row: str, name: str, template: str | None) -> None:
    (document,) = parse_documents("--" + DOCUMENT_HEADER + row + "1 bản chính")
    assert (document.name, document.template, document.original_copies) == (name, template, 1)


def test_case_groups_prefix_their_caption_and_keep_order() -> None:
    text = (
        "Trường hợp cấp mới:" + DOCUMENT_HEADER + "Đơn đề nghị1 bản chính"
        + "Trường hợp cấp lại do bị mất:" + DOCUMENT_HEADER + "Đơn đề nghị cấp lại1 bản chính"
        + "Giấy phép cũ (nếu có)0 bản chính,1 bản sao"
        + "--" + DOCUMENT_HEADER + "Văn bản ủy quyền1 bản chính"
    )
    assert [d.name for d in parse_documents(text)] == [
        "Trường hợp cấp mới: Đơn đề nghị",
        "Trường hợp cấp lại do bị mất: Đơn đề nghị cấp lại",
        "Trường hợp cấp lại do bị mất: Giấy phép cũ (nếu có)",
        "Văn bản ủy quyền",  # a group without caption
    ]


def test_a_lone_group_caption_and_a_note_after_the_table_are_not_papers() -> None:
    text = "Hồ sơ gồm:" + DOCUMENT_HEADER + "Đơn đề nghị1 bản chính" + "Trường hợp nộp trực tuyến thì kê khai trên Cổng."
    assert [(d.name, d.original_copies) for d in parse_documents(text)] == [("Đơn đề nghị", 1)]


@pytest.mark.parametrize("text", [None, "", "--", "----", "KQ.G04.000398"])
def test_no_document_table_gives_no_documents(text: str | None) -> None:
    assert parse_documents(text) == []


# ---------------------------------------------------------------- record, page text, result, legal basis


def test_empty_fields_fall_back_to_the_page_text() -> None:
    channels = CHANNEL_HEADER + "Trực tiếp7 Ngày làm việcMiễn phí"
    documents = "--" + DOCUMENT_HEADER + "Tờ khai1 bản chínhBản sao giấy tờ tùy thân0 bản chính,1 bản sao"
    record = parse_record(raw_record(cach_thuc_thuc_hien="", thanh_phan_ho_so="--", raw_text=page(channels, documents)))
    assert [(c.kind, c.processing_time) for c in record.channels] == [("truc_tiep", "7 Ngày làm việc")]
    assert [(d.name, d.original_copies, d.copies) for d in record.documents] == [
        ("Tờ khai", 1, None),
        ("Bản sao giấy tờ tùy thân", 0, 1),
    ]


def test_a_field_the_crawler_cut_at_an_earlier_title_is_taken_from_the_page() -> None:
    # The crawler cut "thanh_phan_ho_so" at the first "Thành phần hồ sơ" of the page, inside a step.
    steps = "Bước 1: Lập hồ sơ theo mục 3 (Thành phần hồ sơ) và nộp cho cơ quan BHXH."
    documents = "--" + DOCUMENT_HEADER + "Đơn đề nghị (Mẫu số 14-HSB)1 bản chính"
    raw = raw_record(thanh_phan_ho_so=") và nộp cho cơ quan BHXH.", raw_text=page(CHANNEL_HEADER + "Trực tiếp5 NgàyMiễn phí", documents, steps))
    assert [d.name for d in parse_record(raw).documents] == ["Đơn đề nghị (Mẫu số 14-HSB)"]


def test_without_page_text_the_fields_are_used() -> None:
    record = parse_record(raw_record(thanh_phan_ho_so="--" + DOCUMENT_HEADER + "Tờ khai1 bản chính"))
    assert [d.name for d in record.documents] == ["Tờ khai"]
    assert record.channels[0].processing_time == "5 Ngày làm việc"


def test_page_tables_cut_each_section_after_the_previous_one() -> None:
    text = page(CHANNEL_HEADER + "Trực tiếp5 NgàyMiễn phí", "--" + DOCUMENT_HEADER + "Tờ khai1 bản chính", "Xem (Thành phần hồ sơ).")
    assert page_tables(text) == (CHANNEL_HEADER + "Trực tiếp5 NgàyMiễn phí", "--" + DOCUMENT_HEADER + "Tờ khai1 bản chính")
    assert page_tables("Thủ tục không có bảng") is None


def test_decomposed_accents_are_composed_before_splitting() -> None:
    decomposed = "Tờ khai (theo mẫu)Mẫu 01.docx".replace("ẫ", "a\u0302\u0303")
    record = parse_record(raw_record(thanh_phan_ho_so="--" + DOCUMENT_HEADER + decomposed + "1 bản chính"))
    assert [(d.name, d.template) for d in record.documents] == [("Tờ khai (theo mẫu)", "Mẫu 01.docx")]


def test_result_keeps_the_result_names_only() -> None:
    assert (
        parse_result("Quyết định giải quyết khiếu nại lần 1, lần 2Mã: KQ.G01.00262Từ khóaKhông có thông tinMô tảKhông có thông tin")
        == "Quyết định giải quyết khiếu nại lần 1, lần 2"
    )
    assert (
        parse_result("Văn bản chấp thuận.Mã: 000.00.00.G04-KQ0608Giấy phép vận chuyển hàng hóa nguy hiểmMã: KQ.G04.1Từ khóa")
        == "Văn bản chấp thuận; Giấy phép vận chuyển hàng hóa nguy hiểm"
    )
    assert parse_result("Không có thông tin") is None


def test_legal_basis_becomes_a_readable_list() -> None:
    text = (
        "Tên văn bản pháp lýMã văn bản"
        "Hướng dẫn xử lý khiếu nại trong công an nhân dân68/2013/TT-BCA"
        "Luật Khiếu nại  năm 201102/2011/QH13"
        "Nghị định 05/2012/NĐ-CP05/2012/NĐ-CP"
        "Quy định về tập sự hành nghề20/2023/QĐ-TTg"
    )
    assert parse_legal_basis(text) == (
        "Hướng dẫn xử lý khiếu nại trong công an nhân dân (68/2013/TT-BCA); "
        "Luật Khiếu nại năm 2011 (02/2011/QH13); "
        "Nghị định 05/2012/NĐ-CP; "
        "Quy định về tập sự hành nghề (20/2023/QĐ-TTg)"
    )
    assert parse_legal_basis("Không có thông tin") is None


# ---------------------------------------------------------------- real records


def read_one(shared_data: Path, agency: str, code: str):
    return parse_record(json.loads((shared_data / "catalogue" / "dvc" / agency / f"{code}.json").read_text(encoding="utf-8")))


def test_real_passport(shared_data: Path) -> None:
    record = read_one(shared_data, "bo-cong-an", "1.001456")
    assert record.name == "Cấp hộ chiếu phổ thông ở trong nước (thực hiện tại cấp tỉnh)"
    assert [(c.kind, c.processing_time, c.processing_days, c.time_unit) for c in record.channels] == [
        ("truc_tuyen", "8 Ngày làm việc", 8.0, "ngày làm việc"),
        ("buu_chinh", "8 Ngày làm việc", 8.0, "ngày làm việc"),
        ("truc_tiep", "8 Ngày làm việc", 8.0, "ngày làm việc"),
    ]
    counter = record.channels[2]
    assert counter.fee.startswith("200,000 Việt Nam Đồng(200.000đ/ hộ chiếu. Trường hợp cấp lại do bị hỏng hoặc bị mất: 400.000đ")
    assert counter.fee_amount is None  # 200.000đ, or 400.000đ when reissued
    assert len(record.documents) == 6
    form = record.documents[1]
    assert form.name.startswith("Tờ khai đề nghị cấp hộ chiếu phổ thông ở trong nước (mẫu TK01 dành cho người từ 14 tuổi")
    assert form.name.endswith("thì người đại diện hợp pháp khai và ký thay.")
    assert (form.original_copies, form.copies, form.template) == (1, None, "Mau TK01a to khai trẻ em cap HCPT ở trong nước TK01a MỚI.doc")
    photo = record.documents[2]
    assert photo.name == (
        "Ảnh mới chụp không quá 06 tháng, cỡ 4cm x 6cm, mặt nhìn thẳng, đầu để trần, rõ mặt, rõ hai tai, "
        "không đeo kính, trang phục lịch sự, phông ảnh nền trắng"
    )
    assert (record.documents[0].original_copies, record.documents[0].copies) == (1, 1)
    assert record.result == "Hộ chiếu phổ thông không gắn chíp điện tử hoặc hộ chiếu phổ thông có gắn chíp điện tử."


def test_real_driving_licence(shared_data: Path) -> None:
    record = read_one(shared_data, "bo-cong-an", "3.000346")
    assert record.name == "Cấp giấy phép lái xe"
    assert [(c.kind, c.processing_time, c.processing_days, c.time_unit) for c in record.channels] == [
        ("truc_tuyen", "7 Ngày", 7.0, "ngày"),
        ("buu_chinh", "3 Ngày", 3.0, "ngày"),
        ("truc_tiep", "3 Ngày", 3.0, "ngày"),
    ]
    assert all(c.fee.startswith("Miễn phí(- Phí sát hạch lái xe:") for c in record.channels)
    assert all(c.fee_amount is None for c in record.channels)  # "free" over a table of exam fees
    assert len(record.documents) == 13
    assert record.documents[6].name == (
        "Hồ sơ đề nghị sát hạch của cá nhân: Giấy khám sức khoẻ của người lái xe do cơ sở khám bệnh, chữa bệnh "
        "đủ tiêu chuẩn theo quy định của pháp luật về khám bệnh, chữa bệnh cấp còn hiệu lực."
    )
    assert record.documents[10].name == (
        "Hồ sơ đề nghị sát hạch của cơ sở đào tạo lái xe gồm: Báo cáo đề nghị tổ chức sát hạch theo mẫu 02 "
        "Phụ lục VIII kèm theo Thông tư số 12/2025/TT-BCA"
    )
    assert [(d.original_copies, d.copies) for d in record.documents[:2]] == [(0, 1), (1, None)]
    assert record.result == "Giấy phép lái xe"


def test_real_birth_registration(shared_data: Path) -> None:
    record = read_one(shared_data, "bo-tu-phap", "1.001193")
    assert record.name == "Thủ tục đăng ký khai sinh"
    assert [(c.kind, c.processing_time, c.processing_days, c.time_unit, c.fee, c.fee_amount) for c in record.channels] == [
        ("truc_tuyen", "1", 1.0, None, "Miễn phí", 0),  # the portal lost the unit
        ("buu_chinh", "1", 1.0, None, "Miễn phí", 0),
        ("truc_tiep", "1", 1.0, None, "Miễn phí", 0),
    ]
    assert len(record.documents) == 33
    assert record.documents[-2].name == (
        "Tờ khai đăng ký khai sinh theo mẫu (nếu người có yêu cầu lựa chọn nộp hồ sơ theo hình thức trực tiếp "
        "hoặc gửi hồ sơ qua hệ thống bưu chính)"
    )
    assert record.documents[-2].original_copies == 1
    assert record.documents[0].name.startswith("Giấy tờ phải nộp: ")
    assert record.result == "Giấy khai sinh"


def test_real_fee_stated_in_thousands_and_glued_time(shared_data: Path) -> None:
    record = read_one(shared_data, "bo-tai-chinh", "2.001610")
    online = record.channels[0]
    assert (online.kind, online.processing_time) == ("truc_tuyen", "3 Ngày làm việc")
    assert online.fee == "100 VNĐ(Phí công bố nội dung đăng ký doanh nghiệp: 100.000 đồng/lần (Thông tư số 47/2019/TT-BTC))"
    assert online.fee_amount == 100_000


def test_real_field_cut_by_the_crawler_is_recovered(shared_data: Path) -> None:
    record = read_one(shared_data, "bo-tai-chinh", "1.001613")
    assert len(record.documents) >= 8
    assert "1. Trường hợp hưởng BHXH một lần: a) Sổ BHXH" in [d.name for d in record.documents]


# ---------------------------------------------------------------- the whole crawl and the BQP cross-check


@pytest.mark.slow
def test_whole_crawl_meets_the_floors_in_time(shared_data: Path) -> None:
    started = time.perf_counter()
    records = list(read_dir(shared_data / "catalogue" / "dvc"))
    elapsed = time.perf_counter() - started
    quality = parse_quality(records)
    print("\n".join(quality.lines()))
    assert quality.total == 2642
    assert quality.share(quality.with_documents) >= 0.95
    assert quality.share(quality.with_time) >= 0.90
    assert quality.with_channels == quality.total
    assert elapsed < 10, f"parsing took {elapsed:.1f} s"
    assert all(c.kind in ("truc_tiep", "truc_tuyen", "buu_chinh") for r in records for c in r.channels)


@pytest.mark.slow
def test_every_page_with_a_document_table_gives_documents(shared_data: Path) -> None:
    missing = []
    for file in sorted((shared_data / "catalogue" / "dvc").rglob("*.json")):
        raw = json.loads(file.read_text(encoding="utf-8"))
        tables = page_tables(raw["raw_text"])
        has_table = tables is not None and re.search(r"\d bản chính", tables[1]) is not None
        if has_table and not parse_record(raw).documents:
            missing.append(file.stem)
    assert missing == []


def flatten_bqp(tables: dict) -> tuple[str, str, list[tuple], list[tuple]]:
    """The portal's flattening of a BQP record's tables, with the rows it must give back."""
    channel_rows = tables["hinh_thuc_nop"]
    channels = CHANNEL_HEADER + "".join(
        row["hinh_thuc"] + (row["thoi_han_giai_quyet"] or "Không có thông tin") + (row["phi_le_phi"] or "Không có thông tin") + row["mo_ta"]
        for row in channel_rows
    )
    expected_channels = [
        ((row["thoi_han_giai_quyet"].strip() or None), (row["phi_le_phi"].strip() or None), (row["mo_ta"].strip() or None))
        for row in channel_rows
    ]
    documents, expected_documents = "--" + DOCUMENT_HEADER, []
    for row in tables["thanh_phan_ho_so"]:
        if not row["ten_giay_to"].strip():
            continue
        counts = {kind.lower(): int(n) for kind, n in re.findall(r"Bản (chính|sao): (\d+)", row["ghi_chu"])}
        originals, copies = counts.get("chính", 0), counts.get("sao", 0)
        documents += row["ten_giay_to"] + row["so_luong"].replace("\n", "") + f"{originals} bản chính" + (f",{copies} bản sao" if copies else "")
        templates = "; ".join(line.strip() for line in row["so_luong"].split("\n") if line.strip()) or None
        name = re.sub(r"\s+", " ", row["ten_giay_to"]).strip().lstrip("-+*• ").rstrip(";").strip()
        expected_documents.append((name, templates, originals, copies or None))
    return channels, documents, expected_channels, expected_documents


@pytest.mark.slow
def test_splitting_round_trips_the_bqp_tables(shared_data: Path) -> None:
    channel_hits = channel_rows = document_hits = document_rows = 0
    for file in sorted((shared_data / "catalogue" / "bqp_structured").glob("*.json")):
        tables = json.loads(file.read_text(encoding="utf-8"))["tables"]
        channels, documents, expected_channels, expected_documents = flatten_bqp(tables)
        got_channels = [(c.processing_time, c.fee, c.description) for c in parse_channels(channels)]
        got_documents = [(d.name, d.template, d.original_copies, d.copies) for d in parse_documents(documents)]
        assert len(got_channels) == len(expected_channels), file.name
        assert len(got_documents) == len(expected_documents), file.name
        channel_rows += len(expected_channels)
        channel_hits += sum(got == expected for got, expected in zip(got_channels, expected_channels))
        document_rows += len(expected_documents)
        document_hits += sum(got == expected for got, expected in zip(got_documents, expected_documents))
    assert channel_rows > 400 and document_rows > 800
    assert channel_hits / channel_rows >= 0.98
    assert document_hits / document_rows >= 0.98
