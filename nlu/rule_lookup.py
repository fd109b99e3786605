"""RulePolicy picks the rules that fit a conversation by checking each of its ~140 rules against each state of
the whole conversation, parsing the rule's JSON key again and reversing its states at every check, and it does
so twice a prediction, several predictions a turn: a tenth of the Rasa server's CPU. Here the same checks run
on states reversed once per rule, and stop once every rule still in play is shorter than the states already
checked (Rasa's own check passes any rule from there on), so the same rules are found."""
from __future__ import annotations

import json
from functools import lru_cache
from typing import Any, Dict, List, Set, Text

from rasa.core.policies.rule_policy import RulePolicy
from rasa.shared.core.constants import PREVIOUS_ACTION

State = Dict[Text, Any]
_rasa_possible_keys = RulePolicy._get_possible_keys


@lru_cache(maxsize=4096)
def _reversed_states(rule_key: Text) -> tuple:
    return tuple(reversed(json.loads(rule_key)))


def _applicable(rule_state: State, conversation_state: State) -> bool:
    """``RulePolicy._is_rule_applicable`` for a turn the rule reaches."""
    rule_previous_action = rule_state.get(PREVIOUS_ACTION)
    current_previous_action = conversation_state.get(PREVIOUS_ACTION)
    if not rule_previous_action and not current_previous_action:
        return True  # both conversation starters
    if not rule_previous_action or not current_previous_action:
        return False
    return RulePolicy._does_rule_match_state(rule_state, conversation_state)


def possible_keys(policy: RulePolicy, lookup: Dict[Text, Text], states: List[State]) -> Set[Text]:
    """``RulePolicy._get_possible_keys``: the keys of ``lookup`` whose rules fit the end of ``states``."""
    rules = [(key, _reversed_states(key)) for key in lookup]
    for turn, state in enumerate(reversed(states)):
        rules = [(key, reversed_states) for key, reversed_states in rules
                 if turn >= len(reversed_states) or _applicable(reversed_states[turn], state)]
        if all(turn + 1 >= len(reversed_states) for _, reversed_states in rules):
            break  # every rule left passes every earlier state
    return {key for key, _ in rules}


def install() -> None:
    """Make RulePolicy look its rules up through :func:`possible_keys` (idempotent)."""
    RulePolicy._get_possible_keys = possible_keys  # type: ignore[method-assign]
