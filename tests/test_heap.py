"""Memory an index build freed goes back to the operating system after every (re)build."""
from __future__ import annotations

import platform

from knowledge_base import revisions
from knowledge_base.heap import release_freed_memory
from knowledge_base.revisions import Watched


def test_the_c_heap_is_trimmed_where_glibc_can():
    assert release_freed_memory() is (platform.libc_ver()[0] == "glibc")


def test_every_build_of_a_watched_value_is_followed_by_a_trim(hcc_env, monkeypatch):
    from knowledge_base.db import session_factory

    trims, builds = [], []
    monkeypatch.setattr(revisions, "release_freed_memory", lambda: trims.append(len(builds)))
    watched = Watched(session_factory(hcc_env), ("catalogue",), lambda: builds.append(1) or len(builds), interval=0)
    assert watched.get() == 1
    assert watched.refresh() == 2
    assert trims == [1, 2]  # after each build, not before
