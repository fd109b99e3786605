"""`hcc train` and `hcc nlu`: train the model, and see how it reads a message."""
from __future__ import annotations

import asyncio
import json
import sys

import click


@click.command("train")
@click.option("--force", is_flag=True, help="Huấn luyện lại cả khi dữ liệu không đổi.")
def train(force: bool) -> None:
    """Huấn luyện mô hình (chỉ khi cấu hình, domain, dữ liệu hoặc thành phần thay đổi)."""
    from nlu.training import latest_model
    from nlu.training import train as run

    before = latest_model()
    model = run(force=force)
    click.echo(f"Mô hình {'không đổi' if model == before else 'mới'}: {model}")


@click.group("nlu")
def nlu() -> None:
    """Hiểu ngôn ngữ: phân tích câu của người dân."""


@nlu.command("parse")
@click.argument("text")
@click.option("--json", "as_json", is_flag=True)
def parse(text: str, as_json: bool) -> None:
    """In ý định, độ tin cậy và thực thể của TEXT."""
    from knowledge_base.textfold import nfc
    from nlu.training import load_agent

    try:
        agent = load_agent()
    except FileNotFoundError as error:
        click.echo(f"Lỗi: {error}", err=True)
        sys.exit(2)
    result = asyncio.run(agent.parse_message(nfc(text)))
    if as_json:
        click.echo(json.dumps({k: result[k] for k in ("text", "intent", "entities")}, ensure_ascii=False, indent=2, default=str))
        return
    click.echo(f"ý định: {result['intent']['name']} ({result['intent']['confidence']:.2f})")
    for entity in result["entities"]:
        extra = f" — {entity['name']}" if entity.get("name") else ""
        click.echo(f"thực thể: {entity['entity']} = {entity['value']} «{entity.get('text', '')}»{extra}")
