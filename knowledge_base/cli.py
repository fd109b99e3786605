"""`hcc kb`: import, search and inspect the knowledge base from the shell."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from knowledge_base import catalogue
from knowledge_base.db import session_factory, transaction
from knowledge_base.faq_cli import faq
from knowledge_base.importers.batch import read_path, store
from knowledge_base.records import BadRecord

DEMO = Path(__file__).resolve().parent / "demo"


def _fail(message: str) -> None:
    click.echo(f"Lỗi: {message}", err=True)
    sys.exit(2)


def _dump(value) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2))


@click.group("kb")
def kb() -> None:
    """Cơ sở tri thức: danh mục thủ tục, câu hỏi thường gặp, hồ sơ."""


kb.add_command(faq)


@kb.command("import")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Chỉ xem trước thủ tục mới / thay đổi, không ghi gì.")
def import_(path: Path, dry_run: bool) -> None:
    """Nhập dữ liệu từ PATH (tệp hoặc thư mục; tự nhận định dạng)."""
    from knowledge_base import catalogue_admin

    try:
        batch = read_path(path)
        if dry_run:
            preview = catalogue_admin.dry_run(session_factory(), batch).as_dict()
            counts = preview["counts"]
            click.echo(f"Xem trước (chưa ghi): thủ tục mới {counts['new']}, thay đổi {counts['changed']}, "
                       f"không đổi {counts['unchanged']}, có trong cơ sở dữ liệu nhưng không có trong tệp {counts['absent']}")
            for item in preview["new"]:
                click.echo(f"+ {item['code']}  {item['name']}")
            for item in preview["changed"]:
                click.echo(f"~ {item['code']}  {item['name']} ({', '.join(item['fields'])})")
            return
        with transaction() as session:
            result = store(session, batch)
    except BadRecord as error:
        _fail(f"{error}. Không có thay đổi nào được ghi.")
    click.echo("\n".join(result.lines()))


@kb.command("export")
@click.argument("what", type=click.Choice(["catalogue", "faq"]))
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv", show_default=True)
@click.option("--output", "-o", type=click.Path(path_type=Path), help="Tệp ghi ra (mặc định: hcc-WHAT.FORMAT).")
def export_(what: str, fmt: str, output: Path | None) -> None:
    """Xuất danh mục thủ tục hoặc câu hỏi thường gặp ra CSV/XLSX."""
    from knowledge_base import exports

    with session_factory()() as session:
        content, _media, name = exports.export(session, what, fmt)
    target = output or Path(name)
    target.write_bytes(content)
    click.echo(f"Đã ghi {target}")




@kb.command("demo")
@click.option("--force", is_flag=True, help="Nhập cả khi cơ sở dữ liệu đã có thủ tục.")
def demo(force: bool) -> None:
    """Nạp danh mục, câu hỏi và hồ sơ mẫu vào cơ sở dữ liệu trống."""
    with session_factory()() as session:
        existing = catalogue.counts(session)["procedures"]
    if existing and not force:
        click.echo(f"Cơ sở dữ liệu đã có {existing} thủ tục; bỏ qua dữ liệu mẫu.")
        return
    try:
        batch = read_path(DEMO)
        with transaction() as session:
            result = store(session, batch)
    except BadRecord as error:
        _fail(str(error))
    click.echo("\n".join(result.lines()[:4]))


@kb.command("migrate")
def migrate() -> None:
    """Cập nhật lược đồ cơ sở dữ liệu lên phiên bản mới nhất."""
    session_factory()
    click.echo("Lược đồ đã ở phiên bản mới nhất.")


@kb.command("stats")
def stats() -> None:
    """Số thủ tục, câu hỏi và hồ sơ đang có."""
    with session_factory()() as session:
        _dump(catalogue.counts(session))


def _hits(hits) -> list[dict]:
    return [{"code": h.code, "name": h.name, "score": round(h.score, 4)} for h in hits]


@kb.command("search")
@click.argument("text", required=False)
@click.option("--top", default=5, show_default=True, type=click.IntRange(1, 50))
@click.option("--json", "as_json", is_flag=True, help="In kết quả dạng JSON.")
@click.option("--batch", "batch_file", type=click.File(encoding="utf-8"), help="Mỗi dòng một câu hỏi; in mỗi dòng một mảng JSON.")
def search(text: str | None, top: int, as_json: bool, batch_file) -> None:
    """Tìm thủ tục theo câu hỏi tự do (có dấu hoặc không dấu)."""
    service = catalogue.SearchService(session_factory())
    if batch_file is not None:
        for line in batch_file:
            click.echo(json.dumps(_hits(service.search(line.strip(), top)), ensure_ascii=False))
        return
    if not text or not text.strip():
        _fail("cần câu hỏi để tìm, hoặc --batch TỆP.")
    hits = service.search(text, top)
    if as_json:
        _dump(_hits(hits))
    elif not hits:
        click.echo("Không tìm thấy thủ tục phù hợp.")
    else:
        for hit in hits:
            click.echo(f"{hit.score:.3f}  {hit.code:10}  {hit.name}")


@kb.command("show")
@click.argument("code")
@click.option("--json", "as_json", is_flag=True)
def show(code: str, as_json: bool) -> None:
    """In đầy đủ một thủ tục theo mã."""
    with session_factory()() as session:
        record = catalogue.get_procedure(session, code)
    if record is None:
        _fail(f"không có thủ tục mã {code}.")
    if as_json:
        _dump(record.to_dict())
        return
    click.echo(f"{record.name} (mã {record.code})")
    for label, value in (("Lĩnh vực", record.field), ("Cơ quan thực hiện", record.agency), ("Nơi nộp", record.address)):
        if value:
            click.echo(f"{label}: {value}")
    for channel in record.channels:
        click.echo(f"- {channel.kind}: {channel.processing_time or 'chưa có thông tin'}; {channel.fee or 'chưa có thông tin về phí'}")
    for number, document in enumerate(record.documents, start=1):
        click.echo(f"{number}. {document.name}")


@kb.command("dossier")
@click.argument("tracking_code")
@click.option("--json", "as_json", is_flag=True)
def dossier(tracking_code: str, as_json: bool) -> None:
    """In một hồ sơ theo mã hồ sơ."""
    from knowledge_base.tracking_code import EXAMPLE, parse_tracking_code

    code = parse_tracking_code(tracking_code)
    if code is None:
        _fail(f"mã hồ sơ không đúng định dạng (ví dụ {EXAMPLE}).")
    with session_factory()() as session:
        found = catalogue.get_dossier(session, str(code))
        data = catalogue.dossier_dict(found) if found else None
    if data is None:
        _fail(f"không có hồ sơ mã {code}.")
    if as_json:
        _dump(data)
    else:
        for key, value in data.items():
            if key != "history":
                click.echo(f"{key}: {value}")


@kb.command("demo-advance")
@click.argument("tracking_code", required=False)
def demo_advance(tracking_code: str | None) -> None:
    """Chuyển một hồ sơ (mặc định: hồ sơ đang được theo dõi) sang trạng thái kế tiếp, để thử thông báo."""
    from knowledge_base.dossier_labels import STATUS_LABELS
    from knowledge_base.dossier_status import advance
    from knowledge_base.tracking_code import EXAMPLE, parse_tracking_code

    code = None
    if tracking_code:
        code = parse_tracking_code(tracking_code)
        if code is None:
            _fail(f"mã hồ sơ không đúng định dạng (ví dụ {EXAMPLE}).")
    with transaction() as session:
        moved = advance(session, str(code) if code else None)
    if moved is None:
        _fail(f"không có hồ sơ {code} hoặc hồ sơ đã kết thúc." if code else "không còn hồ sơ nào chưa kết thúc.")
    moved_code, old, new = moved
    click.echo(f"Hồ sơ {moved_code}: {STATUS_LABELS[old]} → {STATUS_LABELS[new]}. Người theo dõi sẽ nhận thông báo.")
