"""Property-based fuzzing of the Vietnamese NLU components: random Unicode never makes them raise, and every token
and entity they report lies inside the text (hypothesis, derandomised, bounded)."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rasa.nlu.constants import TOKENS_NAMES
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from nlu.extractors import PhoneNumberExtractor, ProcedureExtractor, TicketNumberExtractor, TrackingCodeExtractor
from nlu.no_words import NoWordsFallback
from nlu.segment import CompoundDictionary
from nlu.tokenizer import VietnameseTokenizer
from test_fuzz_gateway import TEXT as HOSTILE_TEXT

FUZZ = settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
MIXED = st.text(st.sampled_from(list("hộ chiếu CCCD 0912345678 000.00.04.H49-240315-0012 PA-240101-0001 đ ̣̂́ .-/")), max_size=120)


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    """The trained model's own components in its order; the procedure search is the real one over the demo catalogue."""
    from click.testing import CliRunner

    from bot.cli import main
    from knowledge_base import catalogue
    from security_helpers import module_env

    with module_env(tmp_path_factory.mktemp("nlu-fuzz")):
        catalogue._shared = None
        assert CliRunner().invoke(main, ["kb", "demo"]).exit_code == 0
        compounds = CompoundDictionary.learn([["lệ", "phí", "làm", "hộ", "chiếu", "bao", "nhiêu"]], min_count=1)
        tokenizer = VietnameseTokenizer({**VietnameseTokenizer.get_default_config(), "segmenter": "dictionary"}, None, None, compounds)
        yield [tokenizer, TrackingCodeExtractor({}), TicketNumberExtractor({}), PhoneNumberExtractor({}),
               ProcedureExtractor({**ProcedureExtractor.get_default_config()}), NoWordsFallback()]
        catalogue._shared = None


@FUZZ
@given(text=HOSTILE_TEXT | MIXED)
def test_random_text_never_breaks_the_nlu(pipeline, text):
    message = Message(data={TEXT: text})
    for component in pipeline:
        (message,) = component.process([message])
    for token in message.get(TOKENS_NAMES[TEXT]) or []:
        assert 0 <= token.start <= token.end <= len(text)
    for entity in message.get(ENTITIES) or []:
        assert 0 <= entity["start"] <= entity["end"] <= len(text)
