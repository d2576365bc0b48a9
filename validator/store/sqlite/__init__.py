"""The embedded store on one SQLite file (see ``connections.py`` for why it is shaped so)."""

from validator.store.sqlite.connections import FILTER_PULL_MAX, SNAPSHOT_SECONDS, SqliteStore

__all__ = ["FILTER_PULL_MAX", "SNAPSHOT_SECONDS", "SqliteStore"]
