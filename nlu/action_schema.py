"""Rasa checks every action server response against a JSON schema, and jsonschema's ``validate``
re-checks the schema itself on each call: ~20 ms of every custom action on 2 cores (measured with
cProfile). The schema never changes, so it is checked once and the compiled validator kept.

Checking an event against the 23 event kinds the schema allows (``oneOf``) still cost ~1 ms of
Rasa's CPU per turn, for events that mostly repeat (the same slots set to the same values). So
each event is checked on its own and an event already found valid is not checked again. A
response passes only when every part of it passes as the whole schema would check it; anything
else goes through the full validation, so a malformed response is rejected with the same error.
"""
from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from typing import Any, Dict

VALID_EVENTS_KEPT = 4096  # digests of events found valid; cleared when full


@lru_cache(maxsize=1)
def _validator():
    from jsonschema import validators
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    cls = validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


@lru_cache(maxsize=1)
def _parts():
    """Validators for one event and for the responses list, when the schema is exactly
    {object: {events: [event, …], responses: [...]}} with nothing else to check; else None."""
    validator = _validator()
    schema = validator.schema
    if "$ref" in json.dumps(schema) or set(schema) != {"type", "properties"} or schema["type"] != "object":
        return None
    properties = schema["properties"]
    if set(properties) != {"events", "responses"}:
        return None
    events = properties["events"]
    if set(events) != {"type", "items"} or events["type"] != "array" or not isinstance(events["items"], dict):
        return None
    return validator.evolve(schema=events["items"]), validator.evolve(schema=properties["responses"])


_valid_events: set[bytes] = set()


def _event_valid(event: Any, validator) -> bool:
    """True only when ``event`` is valid; False also means "not known" (it is not plain JSON data)."""
    try:
        text = json.dumps(event, sort_keys=True)
    except (TypeError, ValueError):
        return False
    if json.loads(text) != event:  # a tuple, a NaN: the text would not stand for it, so no shortcut
        return False
    # A digest, not the event: events carry what citizens typed, which a cache must not keep.
    key = hashlib.blake2b(text.encode(), digest_size=16).digest()
    if key in _valid_events:
        return True
    if not validator.is_valid(event):
        return False
    if len(_valid_events) >= VALID_EVENTS_KEPT:
        _valid_events.clear()
    _valid_events.add(key)
    return True


def _passes_by_parts(result: Any) -> bool:
    """True only when ``result`` is valid; False also means "not known", for the full validation to decide."""
    parts = _parts()
    if parts is None or not isinstance(result, dict):
        return False
    event_validator, responses_validator = parts
    if "events" in result:
        events = result["events"]
        if not isinstance(events, list) or not all(_event_valid(event, event_validator) for event in events):
            return False
    return "responses" not in result or responses_validator.is_valid(result["responses"])


def _validate_action_result(self, result: Dict[str, Any]) -> bool:
    from jsonschema import ValidationError
    from jsonschema.exceptions import best_match

    if _passes_by_parts(result):
        return True
    error = best_match(_validator().iter_errors(result))
    if error is None:
        return True
    error.message += ". Failed to validate Action server response from API."
    raise ValidationError(error.message) from error


def install() -> None:
    """Make Rasa's RemoteAction use the compiled validator (idempotent)."""
    from rasa.core.actions.action import RemoteAction

    RemoteAction._validate_action_result = _validate_action_result
