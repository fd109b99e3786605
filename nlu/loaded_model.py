"""A model Rasa loads lives until the next one: once loaded, its objects are kept out of the garbage
collector's full passes (knowledge_base/heap.py), which walked all of them again and again under load."""
from __future__ import annotations

import functools
from typing import Any, Callable

from knowledge_base import heap


def freezing(load: Callable[..., Any]) -> Callable[..., Any]:
    """``load``, then what it loaded (and all else alive) out of the collector's full passes."""
    @functools.wraps(load)
    def load_then_freeze(*args: Any, **kwargs: Any) -> Any:
        loaded = load(*args, **kwargs)
        heap.freeze_survivors()
        return loaded

    load_then_freeze.freezes_survivors = True  # type: ignore[attr-defined]
    return load_then_freeze


def install() -> None:
    """Make ``Agent.load_model`` freeze what it loaded (idempotent)."""
    from rasa.core.agent import Agent

    if not getattr(Agent.load_model, "freezes_survivors", False):
        Agent.load_model = freezing(Agent.load_model)  # type: ignore[method-assign]
