"""Action server responses are still validated after the schema is compiled once."""
import pytest
from jsonschema import ValidationError

from nlu.training import prepare_rasa


@pytest.fixture(scope="module")
def remote_action():
    prepare_rasa()
    from rasa.core.actions.action import RemoteAction

    return RemoteAction("action_greet", None)


def test_a_valid_response_passes(remote_action):
    assert remote_action._validate_action_result({"events": [{"event": "slot", "name": "x", "value": 1}], "responses": [{"text": "Chào"}]})


@pytest.mark.parametrize("response", [{"events": "not a list"}, {"events": [{"event": "no_such_event"}]}, {"responses": ["text"]}])
def test_a_malformed_response_is_still_rejected(remote_action, response):
    with pytest.raises(ValidationError):
        remote_action._validate_action_result(response)
