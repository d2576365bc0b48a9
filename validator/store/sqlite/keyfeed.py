"""The key filters of the SQLite store: every key a lookup may find, kept current from ids that only grow.

A lookup first asks a ``KeyFilter`` (``keyfilter.py``); only keys it cannot rule out reach SQLite.
A feed brings its filter up to date on the loop at each snapshot renewal (``pull``, a few thousand
keys at most) and builds it afresh on the filter thread at start and when a pull finds too much
(``build``). Only ``SqliteConnections`` drives them.
"""

from __future__ import annotations

import sqlite3

from validator.store.keyfilter import KeyFilter
from validator.store.sqlite.sql import translated

FILTER_PULL_MAX = 5000  # new keys read on the loop at a snapshot renewal; more: rebuild off the loop


class KeyFeed:
    """A ``KeyFilter`` of every key one lookup may find, kept current through ids that only grow,
    in commit order (one writer at a time): ``pull`` on the loop at each snapshot renewal,
    ``build`` on the scan thread at start and when a pull finds too much.

    ``recent_sql``: (id, key) rows after an id, by id, with a limit; ``size_sql``: (key count,
    highest id); ``keys_sql``: every key. Keys left behind by deletions only cost a wasted lookup.
    """

    def __init__(self, recent_sql: str, size_sql: str, keys_sql: str) -> None:
        self._recent, self._size, self._keys = recent_sql, size_sql, keys_sql
        self.filter: KeyFilter | None = None  # None: not built (every lookup goes to SQLite)
        self.last_id = 0

    def pull(self, conn: sqlite3.Connection) -> bool:
        """Add the keys stored since the last look; False when they are too many for the loop (the
        filter is dropped: the caller rebuilds it)."""
        if self.filter is None:
            return True
        rows = conn.execute(self._recent, (self.last_id, FILTER_PULL_MAX + 1)).fetchall()
        if len(rows) > FILTER_PULL_MAX or self.filter.count + len(rows) > self.filter.capacity:
            self.filter = None
            return False
        if rows:
            self.filter.update(key for _, key in rows if key)
            self.last_id = rows[-1][0]
        return True

    def build(self, conn: sqlite3.Connection) -> tuple[KeyFilter, int]:
        """A new filter sized for twice the keys, and the id it is current to (one snapshot)."""
        with translated():
            conn.execute("BEGIN")
            try:
                count, last = conn.execute(self._size).fetchone()
                keys = KeyFilter(max(2 * count, 1 << 16))
                keys.update(key for (key,) in conn.execute(self._keys) if key)
            finally:
                conn.execute("COMMIT")
            return keys, last


def suppression_feed() -> KeyFeed:
    return KeyFeed(
        "SELECT id, value FROM suppressions WHERE id > ? ORDER BY id LIMIT ?",
        "SELECT count(*), coalesce(max(id), 0) FROM suppressions",
        "SELECT value FROM suppressions",
    )


def streak_feed() -> KeyFeed:
    """Addresses with an open soft-bounce streak. Only ingestion writes a streak, and always with
    a delivery event of the same address in the same transaction; events are never deleted, so
    their ids serve as the feed's (a superset of the streak addresses: a wasted lookup at worst)."""
    return KeyFeed(
        "SELECT id, address FROM delivery_events WHERE id > ? ORDER BY id LIMIT ?",
        "SELECT (SELECT count(*) FROM soft_streaks), (SELECT coalesce(max(id), 0) FROM delivery_events)",
        "SELECT address FROM soft_streaks",
    )
