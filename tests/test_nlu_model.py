"""A trained model on the held-out split: accuracy floors as written and without diacritics,
and entities resolved against the demo catalogue."""
from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from bot.settings import get_settings
from nlu.evaluation import evaluate, load_examples

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def demo_database(tmp_path_factory):
    """A SQLite database with the demo catalogue, for the procedure extractor."""
    from click.testing import CliRunner

    from bot.cli import main
    from knowledge_base import catalogue

    url = f"sqlite:///{tmp_path_factory.mktemp('nlu') / 'hcc.db'}"
    saved = os.environ.get("HCC_DATABASE_URL")
    os.environ["HCC_DATABASE_URL"] = url
    get_settings.cache_clear()
    catalogue._shared = None
    assert CliRunner().invoke(main, ["kb", "demo"]).exit_code == 0
    yield url
    if saved is None:
        os.environ.pop("HCC_DATABASE_URL")
    else:
        os.environ["HCC_DATABASE_URL"] = saved
    get_settings.cache_clear()
    catalogue._shared = None


@pytest.fixture(scope="session")
def agent(demo_database, tmp_path_factory):
    from nlu.training import load_agent, train

    model = train(force=True, output=tmp_path_factory.mktemp("models"), fixed_model_name="test")
    return load_agent(model)


@pytest.fixture(scope="session")
def examples():
    return load_examples(ROOT / "tests" / "nlu_test.yml")


def test_the_test_split_is_never_trained_on(examples):
    from nlu.evaluation import strip_diacritics

    trained = {strip_diacritics(text).lower() for text, _ in load_examples(ROOT / "data" / "nlu.yml")}
    assert not [text for text, _ in examples if strip_diacritics(text).lower() in trained]


def test_every_intent_has_enough_training_examples():
    counts: dict[str, int] = {}
    for _, intent in load_examples(ROOT / "data" / "nlu.yml"):
        counts[intent] = counts.get(intent, 0) + 1
    assert len(counts) == 21 and min(counts.values()) >= 40


def test_intent_floors_with_and_without_diacritics(agent, examples):
    written = evaluate(agent, examples)
    bare = evaluate(agent, examples, folded=True)
    assert written.macro_f1 >= 0.93, written.errors
    assert bare.macro_f1 >= written.macro_f1 - 0.02, bare.errors


@pytest.mark.parametrize(
    "text, intent, entities",
    [
        ("Lệ phí làm hộ chiếu bao nhiêu ạ", "ask_fee", {"procedure": "1.001456"}),
        ("le phi lam ho chieu bn", "ask_fee", {"procedure": "1.001456"}),
        ("dk ket hon can giay to j", "ask_documents", {"procedure": "1.000894"}),
        ("hồ sơ 000.00.04.h49 - 261120-0012 đến đâu rồi", "lookup_dossier", {"tracking_code": "000.00.04.H49-261120-0012"}),
        ("sdt của em 0912 345 678", "inform", {"phone_number": "0912345678"}),
        ("cảm ơn ad nhiều", "thank", {}),
        ("4 số cuối là 5678", "confirm_phone", {}),
        ("zzqx vbnm", "nlu_fallback", {}),
        ("thoi gian lam so do", "ask_processing_time", {"procedure": "1.013978"}),
        ("phản ánh PA-261120-0007 đến đâu rồi", "complain", {"ticket_number": "PA-261120-0007"}),
        ("phan anh PA-261120-0007 den dau roi", "complain", {"ticket_number": "PA-261120-0007"}),
        ("tra cuu ho so 000.20.31.h49-260908-13", "lookup_dossier", {}),  # a mistyped code, not a rating
        ("xác nhận cư trú", "inform", {"procedure": "1.010041"}),  # a procedure's name, not "yes"
        ("xac nhan", "affirm", {}),
        # "cho người …" names whom the procedure is for, not a request for a person
        ("dang ky tam tru cho sinh vien thue tro", "ask_procedure", {"procedure": "1.004194"}),
        ("làm căn cước cho bé 5 tuổi", "ask_procedure", {"procedure": "1.014062"}),
    ],
)
def test_parse(agent, text, intent, entities):
    result = asyncio.run(agent.parse_message(text))
    assert result["intent"]["name"] == intent
    assert {e["entity"]: e["value"] for e in result["entities"]} == entities
