"""Rasa's tracker and lock stores: in memory for one instance (SQLite), shared when PostgreSQL and
Redis are configured, so any Rasa instance can continue any conversation."""
from __future__ import annotations

from urllib.parse import unquote, urlparse

from sqlalchemy.engine import make_url

# Rasa's own stores, made to outlive an outage of their server (bot/rasa_resilient_stores.py).
TRACKER_STORE = "bot.rasa_resilient_stores.ResilientSQLTrackerStore"
MEMORY_TRACKER_STORE = "bot.rasa_memory_store.ExpiringInMemoryTrackerStore"
LOCK_STORE = "bot.rasa_resilient_stores.FallbackRedisLockStore"


def tracker_store(database_url: str) -> dict:
    """Rasa's SQL tracker store on our PostgreSQL (its own ``events`` table); on SQLite, memory that forgets
    conversations long idle (bot/rasa_memory_store.py).

    The URL's query (``options=-csearch_path=...``, ``sslmode``...) goes along, so the table is in the same schema."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        return {"type": MEMORY_TRACKER_STORE}
    store = {"type": TRACKER_STORE, "dialect": "postgresql", "url": url.host or "127.0.0.1", "port": url.port or 5432,
             "db": url.database, "username": url.username}
    if url.password:
        store["password"] = url.password
    if url.query:
        # A repeated option is a tuple, which YAML cannot write; Rasa passes the query to SQLAlchemy's URL.
        store["query"] = {key: list(value) if isinstance(value, tuple) else value for key, value in url.query.items()}
    return store


def lock_store(redis_url: str | None, prefix: str, timeout: float) -> dict | None:
    """Rasa's Redis lock store, so one conversation's messages are handled in order across instances.

    A call slower than ``timeout`` seconds counts as Redis unavailable (the turn then locks in-process)."""
    if not redis_url:
        return None
    url = urlparse(redis_url)
    store = {"type": LOCK_STORE, "url": url.hostname or "127.0.0.1", "port": url.port or 6379,
             "db": int((url.path or "/0").lstrip("/") or 0), "key_prefix": f"{prefix}lock:", "socket_timeout": timeout}
    if url.password:
        store["password"] = unquote(url.password)
    return store
