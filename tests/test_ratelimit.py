"""Failed dossier lookups: limited per key within a sliding window, shared through the database."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from bot.settings import get_settings
from knowledge_base.db import session_factory
from knowledge_base.models import AuditLog
from knowledge_base.ratelimit import blocked, record_failure, retry_after_minutes

T0 = datetime(2026, 11, 23, 2, 0)


def test_the_limit_th_failure_blocks_until_the_oldest_counted_one_expires(session):
    key = "telegram:123"
    for minute in range(4):
        record_failure(session, key, T0 + timedelta(minutes=minute))
    now = T0 + timedelta(minutes=4)
    assert not blocked(session, key, now) and retry_after_minutes(session, key, now) == 0
    record_failure(session, key, now)
    assert blocked(session, key, now)
    assert retry_after_minutes(session, key, now) == 6  # the 02:00 failure expires at 02:10
    assert blocked(session, key, T0 + timedelta(minutes=9, seconds=59))
    assert retry_after_minutes(session, key, T0 + timedelta(minutes=9, seconds=30)) == 1
    assert not blocked(session, key, T0 + timedelta(minutes=10))
    assert not blocked(session, "telegram:999", now)
    logged = select(func.count()).where(AuditLog.actor == key, AuditLog.action == "dossier_lookup_failed")
    assert session.scalar(logged) == 5


def test_aware_times_and_settings_from_the_environment(session, monkeypatch):
    monkeypatch.setenv("HCC_LOOKUP_LIMIT", "2")
    monkeypatch.setenv("HCC_LOOKUP_WINDOW_MINUTES", "60")
    get_settings.cache_clear()
    vietnam = timezone(timedelta(hours=7))
    record_failure(session, "zalo:1", datetime(2026, 11, 23, 9, 0, tzinfo=vietnam))
    record_failure(session, "zalo:1", datetime(2026, 11, 23, 9, 30, tzinfo=vietnam))
    assert blocked(session, "zalo:1", datetime(2026, 11, 23, 2, 59))  # naive = UTC = 09:59 in Việt Nam
    assert retry_after_minutes(session, "zalo:1", datetime(2026, 11, 23, 2, 30)) == 30
    assert not blocked(session, "zalo:1", datetime(2026, 11, 23, 3, 0))


def test_failures_recorded_by_one_instance_block_another(hcc_env):
    factory = session_factory(hcc_env)
    key = "rest:" + "k" * 100  # longer than the audit column: still counted as one key
    with factory() as writer, writer.begin():
        for minute in range(5):
            record_failure(writer, key, T0 + timedelta(minutes=minute))
    with factory() as reader:
        assert blocked(reader, key, T0 + timedelta(minutes=5))
