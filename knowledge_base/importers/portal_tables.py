"""Split the National Public Service Portal's flattened tables back into rows.

The crawl kept each table's cell texts but dropped every separator, e.g.
``"Hình thức nộpThời gianPhí, lệ phíMô tảTrực tuyến20 Ngày làm việcMiễn phí..."``.
The functions here recover the rows from the shape of the cells: a submission form
followed by a time, a quantity such as ``1 bản chính,1 bản sao`` closing a document row,
a template file name ending in ``.docx`` just before it.
"""
from __future__ import annotations

import re

from knowledge_base.importers.quantities import channel_kind, parse_time
from knowledge_base.records import Channel, Document

# ---------------------------------------------------------------- cách thức thực hiện

CHANNEL_HEADER = re.compile(r"Hình thức nộp\s*Thời gian\s*Phí, lệ phí\s*Mô tả")
# A row starts where a submission form is glued to its time cell (a number or "Không ...");
# the same words inside a description are followed by a space or a colon instead.
CHANNEL_LABEL = r"(Trực tiếp|Trực tuyến|Dịch vụ bưu chính)"
CHANNEL_ROW = re.compile(CHANNEL_LABEL + r"(?=\d|Không|Trong ngày|Ngay trong ngày)")
NUMBER = r"\d+(?:[.,]\d+)?(?:\s*-\s*\d+(?:[.,]\d+)?)?"  # "20", "0.5", a range "10-25"
TIME_WITH_UNIT = re.compile(NUMBER + r"\s*(?:Ngày làm việc|Giờ làm việc|Ngày|Giờ|Tháng|Tuần|Năm|Phút)", re.IGNORECASE)
BARE_NUMBER = re.compile(NUMBER + r"(?:,\d{3})*")
CURRENCY = r"(?:VNĐ|Việt Nam Đồng|Đồng|đồng|USD)"
AMOUNT = r"\d[\d.,]*\s*" + CURRENCY  # "200,000 Việt Nam Đồng", "10 USD"
AMOUNT_CELL = re.compile(r"(\d[\d.,]*)\s*(" + CURRENCY + r")")
LABELLED_AMOUNT = r"(?:Lệ phí|Phí)\s*:[^()]{0,300}?(?:Đồng|đồng|VNĐ|USD)"  # "Lệ phí : 200.000 Đồng"
FEE_ITEM = re.compile(
    LABELLED_AMOUNT + r"|(?:Lệ phí|Phí)\s*:|Miễn phí|Không có thông tin|" + AMOUNT + r"|Không\s*Đồng"
)
# A fee cell may hold several amounts ("500,000 Việt Nam ĐồngPhí: 500.000 đồng"), never two "free"s.
NEXT_FEE_ITEM = re.compile(r"\s*(?:" + LABELLED_AMOUNT + "|" + AMOUNT + ")")
NOTE_OPEN = re.compile(r"\s*\(")
FEE_START = re.compile(r"Miễn phí|Không có thông tin|(?:Lệ phí|Phí)\s*:|" + AMOUNT)
NO_INFO = {"", "--", "không có thông tin", "không"}

# Money anywhere in a fee text: "300,000 Việt Nam Đồng", "150.000 đồng/1 giấy", "02 triệu đồng/lần".
MONEY = re.compile(
    r"(\d{1,3}(?:[.,]\d{3})+|\d+)\s*(Việt Nam Đồng|triệu\s*đồng|nghìn\s*đồng|đồng|vnđ|đ\b|usd)", re.IGNORECASE
)
FREE = re.compile(r"(?:(?:Lệ phí|Phí)\s*:\s*)?(?:Miễn phí|(?:0|Không)\s*Đồng)", re.IGNORECASE)
# A note after "Miễn phí" that sets a rate elsewhere or names conditions makes "free" doubtful.
DOUBTFUL_NOTE = re.compile(
    r"mức (?:lệ phí|phí|thu)\s*(?:cụ thể|\(nếu có\)|đăng ký)|áp dụng mức|Hội đồng nhân dân|HĐND|do (?:Ủy ban|UBND)"
    r"|trường hợp|đối với|giá dịch vụ|(?:lệ phí|phí)[^:.;]{0,80}:",
    re.IGNORECASE,
)


def _is_info(text: str | None) -> str | None:
    """The stripped text, or None for the portal's empty-cell placeholders."""
    if text is None:
        return None
    text = text.strip()
    return None if text.lower().rstrip(".") in NO_INFO else text


def _closing_paren(text: str, start: int) -> int:
    """Index just past the parenthesis opened at ``start``; unbalanced notes end at the last ')'."""
    depth = 0
    for index in range(start, len(text)):
        if text[index] == "(":
            depth += 1
        elif text[index] == ")":
            depth -= 1
            if depth == 0:
                return index + 1
    last = text.rfind(")")
    return last + 1 if last > start else len(text)


def _split_fee(text: str) -> tuple[str | None, str]:
    """Cut the fee cell (one or more amounts, each with its note in parentheses) off a row's rest."""
    pos, item = 0, FEE_ITEM
    while match := item.match(text, pos):
        pos = match.end()
        if match.group(0).endswith("thông tin"):
            break  # an empty cell has no note; a parenthesis after it opens the description
        note = NOTE_OPEN.match(text, pos)
        if note:
            pos = _closing_paren(text, note.end() - 1)
        item = NEXT_FEE_ITEM
    return (text[:pos].strip() or None), text[pos:]


def _glued_time(digits: str, row: str) -> str:
    """The unit-less time at the front of digits glued to a fee amount ("1100" VNĐ → "1").

    Of the valid splits, take the one whose time the row's description repeats, else the shortest."""
    times = [
        digits[:cut]
        for cut in range(1, len(digits))
        if digits[:cut].isdigit() and re.fullmatch(r"0|[1-9]\d{0,2}(?:[.,]\d{3})*|[1-9]\d*", digits[cut:])
    ]
    for time in times:
        if re.search(rf"(?<!\d)0*{int(time)}\s*ngày", row, re.IGNORECASE):
            return time
    return times[0] if times else digits


def _split_time(row: str) -> tuple[str, str]:
    """Cut the time cell off the front of a row (the part after the submission form)."""
    unit = TIME_WITH_UNIT.match(row)
    if unit:
        return row[: unit.end()], row[unit.end() :]
    number = BARE_NUMBER.match(row)
    if number:
        glued = AMOUNT_CELL.match(row)
        if glued and glued.group(1) == number.group(0):
            time = _glued_time(number.group(0), row)
            return time, row[len(time) :]
        return number.group(0), row[number.end() :]
    # A worded time ("Không quy định", "Không có thông tin") runs up to the fee cell.
    fee = FEE_START.search(row, 1)
    if fee:
        return row[: fee.start()], row[fee.start() :]
    return row, ""


def _amounts(fee: str) -> list[int] | None:
    """Every VND amount the fee text names, in order; None when it names a foreign currency."""
    amounts = []
    for number, unit in MONEY.findall(fee):
        unit = unit.lower()
        if unit == "usd":
            return None
        value = int(re.sub(r"[.,]", "", number))
        if unit.startswith("triệu"):
            value *= 1_000_000
        elif unit.startswith("nghìn"):
            value *= 1_000
        amounts.append(value)
    return amounts


def fee_amount(fee: str | None) -> int | None:
    """VND when the fee text states one unambiguous amount; "Miễn phí" / "0 Đồng" → 0, else None."""
    if not fee:
        return None
    amounts = _amounts(fee)
    if amounts is None:
        return None
    free = FREE.match(fee)
    if free:
        note = fee[free.end() :]
        return 0 if not set(amounts) - {0} and not DOUBTFUL_NOTE.search(note) else None
    if not amounts or not re.match(r"(?:(?:Lệ phí|Phí)\s*:\s*)?\d", fee):
        return None
    first, others = amounts[0], set(amounts[1:])
    # The portal sometimes states fees in thousands ("135 VNĐ" with the note "135.000 đồng"):
    # such an amount is read from the note only when the note confirms it.
    if first >= 1000:
        return first if others <= {first} else None
    return first * 1000 if others == {first * 1000} else None


def _infer_unit(days: float | None, description: str | None) -> str | None:
    """'ngày làm việc' for a unit-less time, only when the description states that same count of them."""
    if days is None or not description or days != int(days):
        return None
    if re.search(rf"(?<!\d)0*{int(days)}\s*ngày làm việc", description, re.IGNORECASE):
        return "ngày làm việc"
    return None


def _channel(kind: str, row: str) -> Channel:
    """One row (without its submission form) → Channel: time cell, fee cell, then description."""
    time_text, rest = _split_time(row)
    fee, description = _split_fee(rest)
    time = _is_info(time_text)
    description = _is_info(description)
    days, unit = parse_time(time)
    if time and re.search(r"\d\s*-\s*\d", time):
        days = None  # a range ("10-25 Ngày") has no single number
    elif unit is None and time and re.fullmatch(r"[\d.,]+", time):
        unit = _infer_unit(days, description)
    return Channel(
        kind=kind,
        processing_time=time,
        processing_days=days,
        time_unit=unit,
        fee=_is_info(fee),
        fee_amount=fee_amount(_is_info(fee)),
        description=description,
    )


def _row_starts(body: str) -> list[re.Match]:
    """Where the rows of the channel table start (each match's group 1 is the submission form)."""
    rows = list(CHANNEL_ROW.finditer(body))
    first = re.match(CHANNEL_LABEL, body)
    if first and not (rows and rows[0].start() == 0):
        # An unusual worded time ("Hệ thống ... phản hồi tự động") still starts the table, and
        # the later rows repeat it.
        repeated = re.compile(CHANNEL_LABEL + "(?=" + re.escape(body[first.end() : first.end() + 12]) + ")")
        by_start = {match.start(): match for match in [*rows, *repeated.finditer(body)]}
        rows = [by_start[start] for start in sorted(by_start)]
    return rows


def parse_channels(text: str | None) -> list[Channel]:
    """One Channel per row of the flattened "Cách thức thực hiện" table, in published order."""
    if not text:
        return []
    header = CHANNEL_HEADER.search(text)
    body = (text[header.end() :] if header else text).strip()
    rows = _row_starts(body)
    channels = []
    for row, following in zip(rows, rows[1:] + [None]):
        end = following.start() if following else len(body)
        kind = channel_kind(row.group(1))
        if kind:
            channels.append(_channel(kind, body[row.end() : end]))
    return channels


# ---------------------------------------------------------------- thành phần hồ sơ

DOCUMENT_HEADER = re.compile(r"Tên giấy tờ\s*Mẫu đơn, tờ khai\s*Số lượng")
# The quantity cell closes a row. The originals' count is one digit: a longer run is the
# name's own number glued to it ("Mẫu số 181 bản chính" is "Mẫu số 18" + "1 bản chính").
# The same words inside a name are followed by a space or punctuation, or by the real cell
# (": 01 bản chính1 bản chính"); a next row may itself start with them ("01 bản chính văn bản").
QUANTITY = re.compile(r"(\d) bản chính(?:,\s*(\d+) bản sao)?(?![\s,.;:)]|\d+ bản chính(?![\s,.;:)]))")
# A file name ends at its extension; the next glued file may start in lower case
# ("...docxmẫu số 02.docx"), so only ".doc" / ".xls" going on with an "x" are not an end.
FILE_END = re.compile(r"\.(?i:docx|xlsx|pdf|rar|zip|odt)|\.(?i:doc|xls)(?![xX])")
# A template name usually starts with a word like "Mẫu" glued to the end of the document name.
TEMPLATE_WORD = re.compile(
    r"(?:\d{1,3}\s?-\s?)?(?:M[ẫaẪA]u|MẪU|MAU|m[ẫa]u|Mus|MUS|mus|Mu(?=[A-Z\d])|Ms(?=\d)|Phụ lục|PHỤ LỤC|Phu luc|Phuluc"
    r"|Phlc|PL(?=[\s\d_.-])|TK(?=[\s\d_.-])|TPHS|Biểu mẫu|Bieu mau|Form)"
)
BULLET = re.compile(r"^[\s\-+*•–]+")
HEADING_LIMIT = 200


def _glued(text: str, index: int) -> bool:
    """Whether ``text[index]`` starts a new cell: glued to the previous text without a space."""
    return index == 0 or not (text[index - 1].isspace() or text[index - 1] in "(-_/")


def _cell_boundaries(text: str) -> tuple[list[int], list[int]]:
    """Places where a new cell may start: glued after a lower-case word, a closing bracket or a
    sentence end; the second list holds ASCII camelCase joints, common inside file names."""
    plain, camel = [], []
    for index in range(1, len(text) - 1):
        before, char, after = text[index - 1], text[index], text[index + 1]
        two_back = text[index - 2] if index >= 2 else " "
        if before.isspace() or char.isspace():
            continue
        if (char.isupper() and (before.islower() or before in ")];:")) or (
            char.isdigit() and (before.islower() or before in ")];")
        ):
            if before.isascii() and before.isalpha() and char.isascii():
                camel.append(index)
            else:
                plain.append(index)
        elif char.islower() and before in ";)":
            plain.append(index)  # ");phụ lục VII.docx", ")báo cáo.docx"
        elif char.isalpha() and (text.endswith("theo mẫu", 0, index) or text.endswith("quy định", 0, index)):
            plain.append(index)  # "theo quy địnhvăn bản đề nghị.docx"
        elif before == "." and (two_back.islower() or two_back == ")") and char.isalnum():
            plain.append(index)  # "thông tin.giấy đề nghị.docx", ").8.Don.doc"
        elif before == "." and two_back.isalpha() and char.isdigit():
            plain.append(index)  # "TT-BNNMT.22 đ sửa.docx"
        elif before == "." and two_back.isalnum() and char.isupper() and after.islower():
            plain.append(index)  # "TT-NHNN.Phlc02.docx"
        elif char.isupper() and after.islower() and re.search(r"(?:^|[\s/-])[A-ZĐ]{2,}$", text[:index]):
            plain.append(index)  # "NĐ-CPThuyet minh.docx": an acronym glued to the file name
    return plain, camel


def _template_start(text: str) -> int | None:
    """Where the first template file name starts in a row's name-and-template text, if it shows."""
    stem = text[: text.rfind(".")]
    keyword = [m.start() for m in TEMPLATE_WORD.finditer(stem) if m.start() > 0 and _glued(stem, m.start())]
    if keyword:
        return keyword[-1]
    plain, camel = _cell_boundaries(stem)
    if plain:
        return plain[-1]
    if camel:
        return camel[0]  # the file name's own joints come after the one that starts it
    # Last resort: a one-token file name after a full stop ("...TT-NHNN.PHLCI.docx").
    token = re.search(r"(?:(?<=\S\.)(?=[^\W\d_])|(?<=[^\d\s]\.))[^\s.]\S*(?: \(\d+\))?$", stem)
    return token.start() if token else None


def _split_template(cell: str) -> tuple[str, str | None]:
    """A row's text before its quantity → (document name, template file names joined by '; ')."""
    cell = cell.strip()
    ends = [m.end() for m in FILE_END.finditer(cell)]
    if not ends or ends[-1] != len(cell):
        return cell, None
    first = cell[: ends[0]]
    start = _template_start(first)
    if start is None:
        return cell, None
    files = [first[start:]] + [cell[a:b] for a, b in zip(ends, ends[1:])]
    return first[:start], "; ".join(f.strip() for f in files if f.strip())


def _tidy(text: str) -> str:
    """Collapse whitespace and drop a leading list bullet."""
    return BULLET.sub("", re.sub(r"\s+", " ", text)).strip()


def _document(cell: str, quantity: re.Match | None) -> Document | None:
    name, template = _split_template(cell)
    name = _tidy(name).rstrip(";").strip()
    if not name:
        if not template:
            return None
        name = template  # a row holding only its template still names the paper
    return Document(
        name=name,
        original_copies=int(quantity.group(1)) if quantity else None,
        copies=int(quantity.group(2)) if quantity and quantity.group(2) else None,
        template=template,
    )


def _heading(text: str) -> str | None:
    """A case group's caption ("Trường hợp cấp lại:"), shortened to its first sentence when long."""
    text = _tidy(text.replace("--", " ")).rstrip(":; ").strip()
    if len(text) > HEADING_LIMIT:
        cut = max(text.rfind(mark, 0, HEADING_LIMIT) for mark in (". ", ": ", "; "))
        text = text[:cut] if cut > 40 else text[:HEADING_LIMIT].rsplit(" ", 1)[0] + "…"
    return text or None


def parse_documents(text: str | None) -> list[Document]:
    """The papers of the flattened "Thành phần hồ sơ" table, in order; with several case groups
    each name is prefixed by its group's caption ("Trường hợp cấp lại: Tờ khai...")."""
    # Each "Tên giấy tờ...Số lượng" header opens a group; the text between the previous group's
    # last quantity and the header is its caption. A lone group's caption is only an introduction.
    if not text or not text.strip() or text.strip() == "--":
        return []
    parts = DOCUMENT_HEADER.split(text)
    if len(parts) == 1 and not QUANTITY.search(text):
        return []
    if len(parts) == 1:
        parts = ["", text]
    groups: list[tuple[str | None, list[Document]]] = []
    caption = parts[0]
    for part in parts[1:]:
        documents, pos = [], 0
        for quantity in QUANTITY.finditer(part):
            document = _document(part[pos : quantity.start()], quantity)
            pos = quantity.end()
            if document:
                documents.append(document)
        groups.append((_heading(caption), documents))
        caption = part[pos:]
    # Text after the last quantity is a note under the table ("Trường hợp nộp hồ sơ qua hệ
    # thống trực tuyến thì..."), not a paper: the schema has no place for it, so it is left out.
    several = sum(1 for _, documents in groups if documents) > 1
    result = []
    for caption, documents in groups:
        for document in documents:
            if several and caption:
                document.name = f"{caption}: {document.name}"
            result.append(document)
    return result


# ---------------------------------------------------------------- kết quả, căn cứ pháp lý

LOWER = "a-zàáảãạăắằẳẵặâấầẩẫậèéẻẽẹêếềểễệìíỉĩịòóỏõọôốồổỗộơớờởỡợùúủũụưứừửữựỳýỷỹỵđ"
# "Mã: KQ.G01.00262", "Mã: 000.00.00.G04-KQ0608", glued to the next result's name ("...0608Giấy phép").
RESULT_CODE = re.compile(rf"Mã\s*:\s*[0-9A-Za-z][0-9A-Za-z.\-]*?(?=$|[^0-9A-Za-z.\-]|[A-ZĐ][{LOWER}])")
LEGAL_HEADER = re.compile(r"^\s*Tên văn bản pháp lý\s*Mã văn bản")
VOWELS = "aăâeêioôơuưyàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ"
WORD_START = rf"[A-ZĐÀ-Ỹ][{VOWELS}]|[CGKNPT]h|Ng|Tr"  # how a capitalised Vietnamese word begins
# A document number cell ("68/2013/TT-BCA", "02/2011/QH13", "Nghị định 05/2012/NĐ-CP") glued to
# the names around it. It ends where the next name starts: a lower-case letter, a capital that
# opens a Vietnamese word ("NĐ-CP|Nghị định", not "NĐ-C|Pvề"), another number, or punctuation.
# A name ending in a year keeps it ("Luật Khiếu nại năm 2011" + "02/2011/QH13").
LEGAL_CODE = re.compile(
    r"(?:(?:Luật|Nghị định|Nghị quyết|Thông tư|Quyết định|Pháp lệnh|NĐ|TT|QĐ)(?:\s+số)?\s*)?"
    r"(?:(?<=\D)|(?<=\D\d{4}))\d{1,4}/(?:\d{4}/)?[A-ZĐ]+?(?:-[A-ZĐ]+?)*?(?:(?<=QH)\d{2}|(?<=TT)g)?"
    rf"(?=$|[^-A-Za-z0-9ĐÀ-ỹ]|-(?![A-ZĐ])|[{LOWER}]|{WORD_START}|\d+/)"
)


def parse_result(text: str | None) -> str | None:
    """"Giấy phépMã: KQ.G01.00262Từ khóa...Mô tả..." → "Giấy phép" (several results joined by '; ')."""
    text = _is_info(text)
    if not text:
        return None
    names = [_tidy(part) for part in RESULT_CODE.split(text.split("Từ khóa", 1)[0])]
    names = [name for name in names if name]
    if len(names) > 1:
        names = [name.rstrip(" .;") for name in names]
    return "; ".join(names) or None


def parse_legal_basis(text: str | None) -> str | None:
    """The flattened legal-basis table → "name (number); name (number)"."""
    text = _is_info(text)
    if not text:
        return None
    header = LEGAL_HEADER.match(text)
    if not header:
        return _tidy(text)
    body = text[header.end() :]
    entries, pos = [], 0
    for code in LEGAL_CODE.finditer(body):
        glued_after = code.end() == len(body) or not body[code.end()].isspace()
        if not (_glued(body, code.start()) and glued_after) or code.start() == pos:
            continue
        name, number = _tidy(body[pos : code.start()]), code.group(0).strip()
        entries.append(name if number in name else f"{name} ({number})")
        pos = code.end()
    rest = _tidy(body[pos:])
    if rest:
        entries.append(rest)
    return "; ".join(entry for entry in entries if entry) or None
