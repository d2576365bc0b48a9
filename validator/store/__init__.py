"""The store: the suppression list, its audit trail, API keys, bounce history, the probe ledger and jobs.

``open_store(url)`` picks the backend from ``VALIDATOR_DATABASE_URL``'s scheme, in this order:

    sqlite:///relative/path  sqlite:////absolute/path   SqliteStore   (embedded default)
    postgresql://...  postgres://...                     PostgresStore (shared by replicas)

and applies the schema migrations of ``migrations/`` before it returns. Backends are I/O
adapters: only they know ``sqlite3``/``asyncpg``, and they translate those libraries' errors
to ``StoreUnavailable`` (down, locked, unreachable: transient, answer 503). Bad arguments
raise ``InvalidField`` naming the field; a second active API key of one name ``Conflict``.

What a store does, role by role, and the contract both backends keep: ``protocols.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from validator.errors import ConfigError
from validator.store.protocols import JobStore, Store
from validator.store.records import BULK_BATCH, PAGE_MAX, utc_now

__all__ = ["BULK_BATCH", "PAGE_MAX", "JobStore", "Store", "open_store"]


def sqlite_path(url: str) -> Path:
    """``sqlite:///data/x.sqlite3`` → ``data/x.sqlite3``; ``sqlite:////var/x`` → ``/var/x``."""
    path = url.removeprefix("sqlite:///")
    if not path or path.startswith(":memory:") or "?" in path:
        raise ConfigError(
            "VALIDATOR_DATABASE_URL: sqlite:/// needs a file path (no :memory:, no query)",
            field="VALIDATOR_DATABASE_URL",
        )
    return Path(path)


async def open_store(
    url: str,
    *,
    timeout: float = 5.0,
    key_cache_ttl: float = 5.0,
    pool_size: int = 10,
    clock: Callable[[], datetime] = utc_now,
    key_filters: bool = True,
) -> Store:
    """Open the store ``url`` names and bring its schema up to date.

    ``timeout``: seconds a write may wait in all (queued behind this process's earlier writes,
    for a connection, for the database's locks) before ``StoreUnavailable``. ``key_cache_ttl``:
    seconds a verified API key token is trusted without a query (the revocation window across
    processes; 0 disables). ``pool_size``: PostgreSQL connections at most. ``clock``: the source
    of now (UTC-aware), for created_at and expiry. ``key_filters``: SQLite only, see
    ``SqliteConnections.open``.
    """
    if url.startswith("sqlite:///"):
        from validator.store.sqlite import SqliteStore

        return await SqliteStore.open(
            sqlite_path(url), timeout=timeout, key_cache_ttl=key_cache_ttl, clock=clock, key_filters=key_filters
        )
    if url.startswith(("postgresql://", "postgres://")):
        from validator.store.postgres import PostgresStore

        return await PostgresStore.open(
            url, timeout=timeout, key_cache_ttl=key_cache_ttl, pool_size=pool_size, clock=clock
        )
    raise ConfigError(
        "VALIDATOR_DATABASE_URL must start with sqlite:/// or postgresql://", field="VALIDATOR_DATABASE_URL"
    )
