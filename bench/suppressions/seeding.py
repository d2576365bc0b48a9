"""The rows of the suppression benchmark: which entries are stored, the lookup bodies drawn from them,
the CSV file the import part reads, and the fast loading of a store's table.

Rows are addresses ``user<i>@d<i % 1000>.com`` at the DNS fixture's own domains, plus 1,000 whole
domains ``blocked<i>.example``. The tables are loaded straight into the schema the store itself
creates (SQLite by one ``executemany`` in key order, PostgreSQL by ``COPY``): about 5x faster than
``put_suppressions_bulk``, which also writes an audit row per entry (the import part times that).
Nothing here starts a server or measures a request.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from ..databases import create_schema

ROWS, QUICK_ROWS = 1_000_000, 100_000
DOMAINS = 1000  # d<i>.com: the DNS fixture's domains, used by stored rows and validated addresses alike
BLOCKED = 1000  # whole-domain entries, blocked<i>.example: no validated address is at one
BATCH, HITS = 1000, 100  # addresses per lookup request, of which suppressed
DETAIL = "550 5.1.1 <x>: Recipient address rejected: User unknown"


def stored_address(i: int) -> str:
    return f"user{i}@d{i % DOMAINS}.com"


def address_rows(rows: int) -> int:
    return rows - BLOCKED


def stored_keys(rows: int) -> Iterator[tuple[str, str]]:
    """``(kind, value)`` of every stored entry: addresses first, then the blocked domains (none for 0 rows)."""
    if not rows:
        return
    for i in range(address_rows(rows)):
        yield "address", stored_address(i)
    for i in range(BLOCKED):
        yield "domain", f"blocked{i}.example"


def reason_and_detail(kind: str) -> tuple[str, str | None]:
    """The stored reason and detail of an entry of ``kind``: a bounced address, or a domain blocked by hand."""
    return ("hard_bounce", DETAIL) if kind == "address" else ("manual", None)


def lookup_bodies(rows: int, count: int, seed: int = 7) -> list[list[str]]:
    """``count`` lists of ``BATCH`` addresses, exactly ``HITS`` of them stored, shuffled."""
    rng = random.Random(seed)
    bodies = []
    for _ in range(count):
        emails = [stored_address(rng.randrange(address_rows(rows))) for _ in range(HITS)]
        emails += [f"nobody{rng.randrange(10**9)}@d{rng.randrange(DOMAINS)}.com" for _ in range(BATCH - HITS)]
        rng.shuffle(emails)
        bodies.append(emails)
    return bodies


def write_csv(path: Path, rows: int) -> None:
    """The import part's file: the export's columns (kind, value, reason, source, detail)."""
    reasons = ("hard_bounce", "hard_bounce", "hard_bounce", "complaint", "unsubscribe")
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("kind,value,reason,source,detail\r\n")
        block: list[str] = []
        for n, (kind, value) in enumerate(stored_keys(rows)):
            if kind == "address":
                block.append(f"address,{value},{reasons[n % len(reasons)]},old-esp,{DETAIL}\r\n")
            else:
                block.append(f"domain,{value},manual,old-esp,\r\n")
            if len(block) == 10_000:
                out.write("".join(block))
                block = []
        out.write("".join(block))


def fill_sqlite(url: str, rows: int) -> float:
    """Load ``rows`` entries into a new SQLite store; seconds taken (schema included)."""
    began = time.perf_counter()
    asyncio.run(create_schema(url))
    conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")  # a fixture: the store's own writes stay FULL
    now = int(time.time() * 1_000_000)
    keys = sorted(stored_keys(rows))  # primary-key order: every insert appends to the B-tree
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO suppressions (kind, value, id, reason, source, detail, created_at, updated_at, expires_at)"
        " VALUES (?, ?, ?, ?, 'bench', ?, ?, ?, NULL)",
        ((kind, value, n, *reason_and_detail(kind), now, now) for n, (kind, value) in enumerate(keys, 1)),
    )
    conn.execute("UPDATE counters SET value = ? WHERE name = 'suppression_id'", (len(keys),))
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return time.perf_counter() - began


async def fill_postgres(url: str, rows: int) -> float:
    """Load ``rows`` entries into a new PostgreSQL store by COPY, then ANALYZE; seconds taken."""
    from datetime import UTC, datetime

    import asyncpg

    began = time.perf_counter()
    await create_schema(url)
    if rows:
        now = datetime.now(UTC)
        conn = await asyncpg.connect(url)
        try:
            await conn.copy_records_to_table(
                "suppressions",
                columns=["kind", "value", "reason", "detail", "source", "created_at", "updated_at"],
                records=(
                    (kind, value, *reason_and_detail(kind), "bench", now, now) for kind, value in stored_keys(rows)
                ),
            )
            await conn.execute("ANALYZE suppressions")
        finally:
            await conn.close()
    return time.perf_counter() - began
