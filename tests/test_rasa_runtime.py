"""The cheaper Rasa turn (nlu/graph_runner.py, nlu/action_endpoint.py, nlu/action_schema.py, nlu/event_types.py): the same
results as Rasa's own code, with less work."""
from __future__ import annotations

import asyncio

import pytest
from jsonschema import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from loopback_server import serving
from nlu.training import prepare_rasa
from stack import free_port
from test_nlu_model import agent, demo_database  # noqa: F401 - fixtures: the demo model, loaded as `hcc run` loads it

MESSAGES = ["xin chào", "Làm hộ chiếu cần những giấy tờ gì?", "dang ky khai sinh can giay to gi", "tra cuu ho so",
            "Đăng ký kết hôn mất bao nhiêu ngày?", "cảm ơn", "tôi muốn gặp tổng đài viên"]


def test_the_model_runs_in_line_and_parses_and_predicts_as_with_dask(agent):  # noqa: F811
    from rasa.core.channels import UserMessage
    from rasa.engine.constants import PLACEHOLDER_MESSAGE, PLACEHOLDER_TRACKER
    from rasa.engine.runner.dask import DaskGraphRunner
    from rasa.shared.core.trackers import DialogueStateTracker

    from nlu.graph_runner import SequentialGraphRunner

    processor = agent.processor
    runner = processor.graph_runner
    assert isinstance(runner, SequentialGraphRunner)
    nlu, core = processor.model_metadata.nlu_target, processor.model_metadata.core_target

    def parse(run, text: str) -> dict:
        return run(runner, {PLACEHOLDER_MESSAGE: [UserMessage(text)]}, [nlu])[nlu][0].as_dict(only_output_properties=True)

    tracker = DialogueStateTracker("runner-test", processor.domain.slots)
    for text in MESSAGES:
        assert parse(SequentialGraphRunner.run, text) == parse(DaskGraphRunner.run, text)
        asyncio.run(processor._handle_message_with_tracker(UserMessage(text, sender_id="runner-test"), tracker))
        inline = SequentialGraphRunner.run(runner, {PLACEHOLDER_TRACKER: tracker}, [core])[core]
        assert inline == DaskGraphRunner.run(runner, {PLACEHOLDER_TRACKER: tracker}, [core])[core]


def test_calls_to_the_action_server_reuse_one_connection():
    prepare_rasa()
    from rasa.utils.endpoints import EndpointConfig

    clients: list[tuple[str, int]] = []

    async def webhook(request: Request) -> JSONResponse:
        clients.append((request.client.host, request.client.port))
        return JSONResponse({"events": [], "responses": [{"text": (await request.json())["next_action"]}]})

    port = free_port()
    with serving(Starlette(routes=[Route("/webhook", webhook, methods=["POST"])]), port):
        endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook")

        async def three_calls() -> list:
            return [await endpoint.request(json={"next_action": f"action_{n}"}, method="post") for n in range(3)]

        answers = asyncio.run(three_calls())
    assert [answer["responses"][0]["text"] for answer in answers] == ["action_0", "action_1", "action_2"]
    assert len(clients) == 3 and len(set(clients)) == 1, clients


@pytest.fixture(scope="module")
def remote_action():
    prepare_rasa()
    from rasa.core.actions.action import RemoteAction

    return RemoteAction("action_greet", None)


def _full_validation_error(response: dict) -> str:
    from nlu.action_schema import _validator
    from jsonschema.exceptions import best_match

    return best_match(_validator().iter_errors(response)).message + ". Failed to validate Action server response from API."


@pytest.mark.parametrize("malformed", [
    {"events": [{"event": "slot", "name": "x", "value": 1}, {"event": "slot", "name": 5, "value": 1}]},
    {"events": [{"event": "slot", "name": "x", "value": 1}], "responses": ["text"]},
    {"events": ({"event": "slot", "name": "x", "value": 1},)},  # a tuple is not a JSON array
])
def test_an_event_once_found_valid_does_not_let_a_malformed_response_through(remote_action, malformed):
    valid = {"events": [{"event": "slot", "name": "x", "value": 1}], "responses": [{"text": "Chào"}]}
    assert remote_action._validate_action_result(valid) and remote_action._validate_action_result(valid)
    with pytest.raises(ValidationError) as raised:
        remote_action._validate_action_result(malformed)
    assert str(raised.value) == _full_validation_error(malformed)


def test_a_rasa_process_does_without_jax():
    """TensorFlow imports JAX when installed, for a converter no component uses; prepare_rasa keeps it out."""
    import subprocess
    import sys

    from bot.settings import PROJECT_ROOT

    script = ("from nlu.training import prepare_rasa; prepare_rasa(); import sys; import rasa.core.agent; "
              "import tensorflow; print(sys.modules.get('jax', 'absent'), 'tensorflow' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-2:] == ["None", "True"]


def test_events_read_back_through_the_remembered_classes_as_through_rasas_walk():
    prepare_rasa()
    from rasa.shared.core import events
    from rasa.shared.utils.common import all_subclasses

    from nlu import event_types

    assert events.Event.resolve_by_type is event_types.resolve_by_type
    names = {cls.type_name for cls in all_subclasses(events.Event)}
    assert {"user", "bot", "action", "slot", "session_started", "active_loop"} <= names
    for name in sorted(names) * 2:  # the second time from what was remembered
        assert events.Event.resolve_by_type(name) is event_types._walk(name)
    assert events.Event.resolve_by_type("khong-co", default=events.SlotSet) is events.SlotSet
    with pytest.raises(ValueError, match="Unknown event name"):
        events.Event.resolve_by_type("khong-co")
    assert "khong-co" not in event_types._found and events.Event.resolve_by_type("topic") is None
    stored = [events.UserUttered("xin chào", {"name": "greet", "confidence": 0.9}), events.SlotSet("procedure", "1.001193"),
              events.ActionExecuted("action_listen")]
    assert events.deserialise_events([event.as_dict() for event in stored]) == stored


def test_rules_fit_every_state_of_the_training_conversations_as_rasa_finds_them(agent):  # noqa: F811
    from rasa.core.policies.rule_policy import RULES, RULES_FOR_LOOP_UNHAPPY_PATH, RulePolicy
    from rasa.shared.core.generator import TrainingDataGenerator
    from rasa.shared.importers.importer import TrainingDataImporter

    from nlu import rule_lookup
    from nlu.training import PROJECT_ROOT

    assert RulePolicy._get_possible_keys is rule_lookup.possible_keys
    (policy,) = [node._component for node in agent.processor.graph_runner._instantiated_nodes.values()
                 if isinstance(node._component, RulePolicy)]
    importer = TrainingDataImporter.load_from_config(str(PROJECT_ROOT / "config.yml"), str(PROJECT_ROOT / "domain.yml"),
                                                     [str(PROJECT_ROOT / "data")])
    domain = importer.get_domain()
    trackers = TrainingDataGenerator(importer.get_stories(), domain, augmentation_factor=0).generate()
    checked = found = 0
    for tracker in trackers:
        for prior, _ in tracker.generate_all_prior_trackers():
            for use_text in (True, False):
                states = policy._prediction_states(prior, domain, use_text, rule_only_data=policy._get_rule_only_data())
                for lookup in (policy.lookup[RULES], policy.lookup.get(RULES_FOR_LOOP_UNHAPPY_PATH, {})):
                    keys = rule_lookup.possible_keys(policy, lookup, states)
                    assert keys == rule_lookup._rasa_possible_keys(policy, lookup, states)
                    checked, found = checked + 1, found + bool(keys)
    assert checked > 1000 and found > 300, (checked, found)
