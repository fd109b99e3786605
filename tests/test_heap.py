"""After every (re)build of an index, and after Rasa loads a model: freed memory goes back to the operating
system, and what lives on is kept out of the garbage collector's full passes."""
from __future__ import annotations

import gc
import platform
import weakref

from knowledge_base import revisions
from knowledge_base.heap import freeze_survivors, release_freed_memory
from knowledge_base.revisions import Watched


def test_the_c_heap_is_trimmed_where_glibc_can():
    assert release_freed_memory() is (platform.libc_ver()[0] == "glibc")


def test_every_build_of_a_watched_value_is_followed_by_a_freeze_and_a_trim(hcc_env, monkeypatch):
    from knowledge_base.db import session_factory

    after, builds = [], []
    monkeypatch.setattr(revisions, "freeze_survivors", lambda: after.append(("freeze", len(builds))))
    monkeypatch.setattr(revisions, "release_freed_memory", lambda: after.append(("trim", len(builds))))
    watched = Watched(session_factory(hcc_env), ("catalogue",), lambda: builds.append(1) or len(builds), interval=0)
    assert watched.get() == 1
    assert watched.refresh() == 2
    assert after == [("freeze", 1), ("trim", 1), ("freeze", 2), ("trim", 2)]  # after each build, not before


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


def test_survivors_leave_full_collections_and_what_was_frozen_then_dropped_is_still_collected():
    try:
        kept = Node()
        alive = weakref.ref(kept)
        freeze_survivors()
        assert gc.get_freeze_count() > 0 and not any(obj is kept for obj in gc.get_objects())  # frozen
        del kept  # frozen, then dropped: only a collection frees its cycle, so the next freeze must unfreeze first
        assert alive() is not None
        freeze_survivors()
        assert alive() is None
    finally:
        gc.unfreeze()


def test_rasa_freezes_what_a_loaded_model_holds(monkeypatch):
    from nlu.training import prepare_rasa

    prepare_rasa()
    from rasa.core.agent import Agent

    from knowledge_base import heap
    from nlu.loaded_model import freezing

    assert Agent.load_model.freezes_survivors  # installed by prepare_rasa
    steps = []
    monkeypatch.setattr(heap, "freeze_survivors", lambda: steps.append("freeze"))
    load = freezing(lambda path: steps.append(f"load {path}") or "model")
    assert load("models/a.tar.gz") == "model" and steps == ["load models/a.tar.gz", "freeze"]
