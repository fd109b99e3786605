"""NLU components one by one: normaliser, phone numbers, segmentation, tokenizer offsets, extractors."""
from __future__ import annotations

import pytest
from rasa.shared.nlu.training_data.message import Message

from nlu.extractors import PhoneNumberExtractor, ProcedureExtractor, TicketNumberExtractor, TrackingCodeExtractor
from nlu.normalize import normalize_text, normalize_word
from nlu.phone import find_phone_numbers, parse_phone_number
from nlu.segment import CompoundDictionary
from nlu.tokenizer import VietnameseTokenizer
from knowledge_base.search import Hit


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("Lệ phí làm hộ chiếu bn ạ", "lệ phí làm hộ chiếu bao nhiêu ạ"),
        ("ko biết hs đến đâu r ad ơiiii", "không biết hồ sơ đến đâu rồi quản trị viên ơi"),
        ("khônggg đc à", "không được à"),
        ("dc k", "được không"),
        ("làm CCCD mất bao lâu", "làm căn cước công dân mất bao lâu"),
        ("đổi GPLX ở đâu", "đổi giấy phép lái xe ở đâu"),
        ("lam so do het bn", "lam giấy chứng nhận quyền sử dụng đất het bao nhiêu"),
        ("sổ hồng", "giấy chứng nhận quyền sử dụng đất"),
        ("Hoà Bình, thuỷ lợi", "hòa bình thủy lợi"),
        ("cho e hỏi a/c ơi", "cho em hỏi anh chị ơi"),
        ("sdt j", "số điện thoại gì"),
        ("tt ĐKKD", "thủ tục đăng ký kinh doanh"),
    ],
)
def test_normaliser(typed, expected):
    assert normalize_text(typed) == expected


def test_normaliser_composes_decomposed_marks():
    decomposed = "ho\u0323\u0302 chie\u0302\u0301u"  # "hộ chiếu" typed with combining marks
    assert normalize_text(decomposed) == "hộ chiếu"
    assert normalize_word("ĐĂNG") == "đăng"


def test_accented_words_do_not_hit_bare_abbreviations():
    # "ạ" folds to "a" (an abbreviation of "anh") but was typed with its mark: it stays "ạ".
    assert normalize_text("vâng ạ") == "vâng ạ"


@pytest.mark.parametrize(
    "text, digits",
    [("0912345678", "0912345678"), ("+84 912 345 678", "0912345678"), ("0912.345.678", "0912345678"),
     ("84388123456", "0388123456"), ("0203 3835 888", "02033835888")],
)
def test_phone_numbers_good(text, digits):
    assert parse_phone_number(text).digits == digits


@pytest.mark.parametrize("text", ["0123456789", "091234567", "09123456789", "1900558826", "000.00.04.H49-240315-0012", "abc"])
def test_phone_numbers_bad(text):
    assert parse_phone_number(text) is None


def test_two_phone_numbers_side_by_side():
    assert [p.digits for p in find_phone_numbers("0912345678 0388123456")] == ["0912345678", "0388123456"]


def tokenizer(segmenter: str = "dictionary", compounds: CompoundDictionary | None = None) -> VietnameseTokenizer:
    config = {**VietnameseTokenizer.get_default_config(), "segmenter": segmenter}
    return VietnameseTokenizer(config, None, None, compounds)


def test_dictionary_learned_on_accented_text_segments_bare_text_alike():
    compounds = CompoundDictionary.learn([["lệ", "phí", "làm", "hộ", "chiếu", "bao", "nhiêu"], ["le", "phi", "cap", "ho"]], min_count=1)
    assert ("le", "phi") in compounds.compounds and ("ho", "chieu") in compounds.compounds
    assert ("phi", "cap") not in compounds.compounds  # bare text is not learned from
    tok = tokenizer(compounds=compounds)
    accented = tok.tokenize(Message(data={"text": "Lệ phí làm hộ chiếu bao nhiêu"}), "text")
    bare = tok.tokenize(Message(data={"text": "le phi lam ho chieu bao nhieu"}), "text")
    assert [t.lemma for t in accented] == [t.lemma for t in bare] == ["le_phi", "lam", "ho_chieu", "bao_nhieu"]


def test_a_rare_or_odd_grouping_is_not_learned():
    sentences = [["cần", "giấy", "tờ", "gì"]] * 3 + [["hộ", "chiếu", "cần", "giấy", "gì"]]
    compounds = CompoundDictionary.learn(sentences)
    assert ("giay", "to") in compounds.compounds
    assert ("can", "giay") not in compounds.compounds


def test_a_mistyped_code_reads_as_a_code_not_as_numbers():
    tokens = tokenizer(segmenter="syllable").tokenize(Message(data={"text": "tra cuu ho so 000.20.31.h49-260908-13"}), "text")
    assert [t.lemma for t in tokens][-1] == "__ma_ho_so__" and tokens[-1].text == "000.20.31.h49-260908-13"


def test_token_offsets_point_into_the_typed_text():
    text = "Cho em hỏi  hồ sơ 000.00.04.H49 - 261120-0012 của em, sđt 0912 345 678 ạ"
    tokens = tokenizer(segmenter="syllable").tokenize(Message(data={"text": text}), "text")
    for token in tokens:
        assert text[token.start : token.end] == token.text
    by_lemma = {t.lemma: t.text for t in tokens}
    assert by_lemma["__ma_ho_so__"] == "000.00.04.H49 - 261120-0012"
    assert by_lemma["__so_dien_thoai__"] == "0912 345 678"
    assert "so_dien_thoai" in by_lemma  # sđt, expanded, keeps its own span
    assert by_lemma["so_dien_thoai"] == "sđt"


def test_underthesea_segmenter_groups_accented_words_with_offsets():
    text = "giấy tờ làm hộ chiếu"
    tokens = tokenizer(segmenter="underthesea").tokenize(Message(data={"text": text}), "text")
    assert [t.text for t in tokens] == ["giấy tờ", "làm", "hộ chiếu"]
    assert [t.lemma for t in tokens] == ["giay_to", "lam", "ho_chieu"]
    assert [(t.start, t.end) for t in tokens] == [(0, 7), (8, 11), (12, 20)]


def test_empty_and_punctuation_only_messages_still_tokenize():
    assert len(tokenizer().tokenize(Message(data={"text": "???"}), "text")) == 1


def run(extractor, text: str) -> list[dict]:
    (message,) = extractor.process([Message(data={"text": text})])
    return message.get("entities", [])


def test_tracking_code_extractor():
    (found,) = run(TrackingCodeExtractor({}), "hs 000.00.04.h49 - 261120-0012 sao rồi")
    assert found["entity"] == "tracking_code" and found["value"] == "000.00.04.H49-261120-0012"
    assert run(TrackingCodeExtractor({}), "mã 000.00.04.H49-261131-0012") == []  # 31/11 does not exist


def test_phone_extractor():
    (found,) = run(PhoneNumberExtractor({}), "gọi cho tôi +84 912 345 678 nhé")
    assert found["value"] == "0912345678" and found["text"] == "+84 912 345 678"


class FakeSearch:
    def __init__(self, hits):
        self.hits, self.queries = hits, []

    def search(self, text, top=5):
        self.queries.append(text)
        return self.hits[:top]


def procedure_extractor(hits) -> ProcedureExtractor:
    return ProcedureExtractor({**ProcedureExtractor.get_default_config()}, search=FakeSearch(hits))


def tokenized(text: str) -> Message:
    """Tokens as the trained model makes them: compounds learned from accented examples."""
    compounds = CompoundDictionary.learn([["lệ", "phí", "làm", "hộ", "chiếu", "bao", "nhiêu"]], min_count=1)
    message = Message(data={"text": text})
    tokenizer(compounds=compounds).process([message])
    return message


def test_procedure_extractor_resolves_the_mention_to_a_code_with_candidates():
    extractor = procedure_extractor([Hit("1.001456", "Cấp hộ chiếu phổ thông", 0.9), Hit("1.003133", "Giấy thông hành", 0.3)])
    (message,) = extractor.process([tokenized("lệ phí làm hộ chiếu bao nhiêu ạ")])
    (found,) = message.get("entities")
    assert found["value"] == "1.001456" and found["confidence_entity"] == 0.9
    assert [c["code"] for c in found["candidates"]] == ["1.001456", "1.003133"]
    assert found["text"] == "hộ chiếu"
    assert extractor.search.queries == ["hộ chiếu"]


def test_procedure_extractor_is_silent_below_its_threshold_and_on_small_talk():
    weak = procedure_extractor([Hit("1.001456", "Cấp hộ chiếu", 0.1)])
    assert weak.process([tokenized("hộ chiếu")])[0].get("entities", []) == []
    asked = procedure_extractor([Hit("1.001456", "Cấp hộ chiếu", 0.9)])
    assert asked.process([tokenized("cho em hỏi với ạ")])[0].get("entities", []) == []
    assert asked.search.queries == []


@pytest.mark.parametrize("text", ["phan anh PA-261128-0002 den dau roi", "hồ sơ 000.00.04.H49-261120-0012 thủ tục khai sinh"])
def test_procedure_extractor_leaves_a_message_with_a_ticket_number_or_dossier_code_to_it(text):
    extractor = procedure_extractor([Hit("2.001406", "Chứng thực văn bản", 0.9)])
    pipeline = [TrackingCodeExtractor({}), TicketNumberExtractor({}), extractor]
    message = tokenized(text)
    for component in pipeline:
        component.process([message])
    assert [found["entity"] for found in message.get("entities")] in (["ticket_number"], ["tracking_code"])
    assert extractor.search.queries == []


def classified(text: str, intent: str, confidence: float) -> Message:
    message = tokenized(text)
    message.set("intent", {"name": intent, "confidence": confidence})
    message.set("intent_ranking", [{"name": intent, "confidence": confidence}, {"name": "inform", "confidence": 0.3}])
    return message


def test_a_procedure_named_closely_overrides_an_unsure_yes():
    extractor = procedure_extractor([Hit("1.010041", "Xác nhận thông tin về cư trú", 0.86)])
    (message,) = extractor.process([classified("xác nhận cư trú", "affirm", 0.46)])
    assert [found["value"] for found in message.get("entities")] == ["1.010041"]
    assert message.get("intent") == {"name": "inform", "confidence": 0.86}
    assert [guess["name"] for guess in message.get("intent_ranking")] == ["inform", "affirm"]


@pytest.mark.parametrize("confidence, score", [(0.9, 0.86), (0.46, 0.7)])
def test_a_sure_yes_or_a_loose_fit_stays_a_yes(confidence, score):
    extractor = procedure_extractor([Hit("1.010041", "Xác nhận thông tin về cư trú", score)])
    (message,) = extractor.process([classified("xác nhận cư trú", "affirm", confidence)])
    assert message.get("entities", []) == [] and message.get("intent")["name"] == "affirm"
