"""Fill a SQLite store with a large suppression list fast: rows straight into the project's schema
(``executemany`` in one transaction), not through the HTTP API, whose import ran at about
9,000 rows/s when it wrote an audit row per entry (before schema 6). The schema must already exist (run
``validator keys create`` or any command that opens the store first).
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

BATCH = 100_000


def suppressed_address(number: int) -> str:
    """The address of row ``number``: spread over 20,000 domains, as a real list is."""
    return f"user{number}@domain{number % 20_000}.example"


def seed_suppressions(path: Path, count: int, start: int = 0) -> None:
    """Add ``count`` address entries, ``suppressed_address(start)`` onwards, with ids taken from the
    store's own counter (ids only grow: the key filter's feed relies on it)."""
    now_us = int(time.time() * 1_000_000)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        last = conn.execute(
            "UPDATE counters SET value = value + ? WHERE name = 'suppression_id' RETURNING value", (count,)
        ).fetchone()[0]
        first = last - count + 1
        for offset in range(0, count, BATCH):
            conn.executemany(
                "INSERT INTO suppressions (kind, value, id, reason, source, detail, created_at, updated_at,"
                " expires_at) VALUES ('address', ?, ?, 'hard_bounce', 'bench', NULL, ?, ?, NULL)",
                (
                    (suppressed_address(start + n), first + n, now_us, now_us)
                    for n in range(offset, min(offset + BATCH, count))
                ),
            )
        conn.execute("COMMIT")
    finally:
        conn.close()
