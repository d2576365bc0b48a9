"""``python -m bench.store_lookup [--rows N] [--backends sqlite,postgres] [--markdown]``: the store's hot path.

Loads N suppression rows (default 1,000,000, through ``put_suppressions_bulk``, so the import
rate is measured too) into a fresh SQLite file and a fresh PostgreSQL database on
127.0.0.1:5432 (dropped afterwards), then times ``find_suppressions``: point lookups (one
address, and one address plus its domain, as a validation asks) and 1,000-address batches
(about 10% suppressed), in µs per address. Baselines in the same run and on the same data:
the same SQL through ``sqlite3`` directly, through ``sqlite3`` behind a thread hop (what
aiosqlite does), and through a bare asyncpg connection. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import secrets
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from validator.model import SuppressionEntry, SuppressionKind, SuppressionReason
from validator.store import Store, open_store

from .report import Table, progress

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
DOMAINS = 5_000
COLUMNS = "kind, value, reason, source, detail, created_at, updated_at, expires_at"
ROUNDS = 5


def address(i: int) -> str:
    return f"user{i}@d{i % DOMAINS}.example"


def rows(n: int) -> Iterator[SuppressionEntry]:
    for i in range(n - 1_000):
        yield SuppressionEntry(
            SuppressionKind.ADDRESS,
            address(i),
            SuppressionReason.HARD_BOUNCE,
            "bench",
            "550 5.1.1 <x>: Recipient address rejected: User unknown",
        )
    for i in range(1_000):  # a thousand whole domains, which no address above uses
        yield SuppressionEntry(SuppressionKind.DOMAIN, f"blocked{i}.example", SuppressionReason.MANUAL, "bench")


def probes(n: int, count: int, hit_ratio: float, rng: random.Random) -> list[str]:
    """Addresses to look up: ``hit_ratio`` of them suppressed, the rest never stored."""
    return [
        address(rng.randrange(n - 1_000))
        if rng.random() < hit_ratio
        else f"nobody{rng.randrange(10**9)}@d{rng.randrange(DOMAINS)}.example"
        for _ in range(count)
    ]


Case = tuple[str, str, Callable[[list[str]], Awaitable[object]], list[str], int]  # path, lookup, fn, items, size


async def measure(cases: list[Case], table: Table) -> None:
    """µs per address of every case, rounds interleaved (ABCABC...) so that the load of a shared
    machine falls on all cases alike; the median of the rounds is reported."""
    results: dict[int, list[float]] = {i: [] for i in range(len(cases))}
    for _ in range(ROUNDS):
        for i, (_, _, fn, items, size) in enumerate(cases):
            start = time.perf_counter()
            for j in range(0, len(items), size):
                await fn(items[j : j + size])
            results[i].append((time.perf_counter() - start) / len(items) * 1e6)
    for i, (path, lookup, _, _, size) in enumerate(cases):
        value = statistics.median(results[i])
        table.rows.append([path, lookup, f"{value:.2f}" if size > 1 else f"{value:.1f}"])


async def load(store: Store, n: int) -> tuple[float, float]:
    """Rows per second of the bulk import, and the growth of peak RSS in MB while it ran."""
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    result = await store.put_suppressions_bulk(rows(n), actor="bench", why="bench.store_lookup")
    elapsed = time.perf_counter() - start
    assert result.added == n, result
    return n / elapsed, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024


def sqlite_cases(path: Path, misses: list[str], hits: list[str], batch: list[str]) -> list[Case]:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    one = (
        f"SELECT {COLUMNS} FROM suppressions WHERE kind = 'address' AND value = ?"
        " AND (expires_at IS NULL OR expires_at > ?)"
    )
    many = (
        f"SELECT {COLUMNS} FROM suppressions WHERE kind = 'address' AND value IN ({','.join('?' * 1000)})"
        " AND (expires_at IS NULL OR expires_at > ?)"
    )
    hop = ThreadPoolExecutor(1)

    async def direct(items: list[str]) -> None:
        conn.execute(one, (items[0], 0)).fetchall()

    async def hopped(items: list[str]) -> None:
        await asyncio.get_running_loop().run_in_executor(hop, lambda: conn.execute(one, (items[0], 0)).fetchall())

    async def direct_batch(items: list[str]) -> None:
        conn.execute(many, (*items, 0)).fetchall()

    return [
        ("sqlite3 direct", "1 address (miss)", direct, misses, 1),
        ("sqlite3 direct", "1 address (hit)", direct, hits, 1),
        ("sqlite3 + thread hop", "1 address (miss)", hopped, misses, 1),
        ("sqlite3 direct", "IN of 1,000 addresses", direct_batch, batch, 1000),
    ]


async def asyncpg_cases(url: str, misses: list[str], batch: list[str]) -> list[Case]:
    import asyncpg

    conn = await asyncpg.connect(url)
    sql = f"SELECT {COLUMNS} FROM suppressions WHERE kind = 'address' AND value = ANY($1::text[])"

    async def fetch(items: list[str]) -> None:
        await conn.fetch(sql, items)

    return [
        ("asyncpg direct", "1 address (miss)", fetch, misses, 1),
        ("asyncpg direct", "ANY of 1,000 addresses", fetch, batch, 1000),
    ]


async def store_cases(store: Store, label: str, misses: list[str], hits: list[str], batch: list[str]) -> list[Case]:
    async def point(items: list[str]) -> None:
        await store.find_suppressions(items)

    async def point_and_domain(items: list[str]) -> None:
        await store.find_suppressions(items, [items[0].partition("@")[2]])

    async def batch_lookup(items: list[str]) -> None:
        await store.find_suppressions(items, list({a.partition("@")[2] for a in items}))

    _, token = await store.create_api_key(f"bench-{secrets.token_hex(3)}", ["validate"])

    async def verify(items: list[str]) -> None:
        await store.verify_api_key(token)

    return [
        (label, "find_suppressions, 1 address (miss)", point, misses, 1),
        (label, "find_suppressions, 1 address (hit)", point, hits, 1),
        (label, "find_suppressions, address + domain (miss)", point_and_domain, misses, 1),
        (label, "find_suppressions, 1,000 addresses + their domains", batch_lookup, batch, 1000),
        (label, "verify_api_key (cached token)", verify, misses, 1),
    ]


def samples(n: int, lookups: int) -> tuple[list[str], list[str], list[str]]:
    rng = random.Random(1)
    return probes(n, lookups, 0.0, rng), probes(n, lookups, 1.0, rng), probes(n, 10_000, 0.1, rng)


async def run(args: argparse.Namespace) -> list[Table]:
    lookups = Table(
        f"Suppression lookups, {args.rows:,} rows (µs per address, median of {ROUNDS})",
        ["Path", "Lookup", "µs/address"],
    )
    imports = Table(
        f"Bulk import of {args.rows:,} rows through put_suppressions_bulk", ["Backend", "Rows/s", "Peak RSS growth"]
    )
    if "sqlite" in args.backends:
        with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
            path = Path(tmp) / "validator.sqlite3"
            store = await open_store(f"sqlite:///{path}")
            progress(f"sqlite: loading {args.rows:,} rows")
            per_s, rss = await load(store, args.rows)
            imports.rows.append(["SQLite", f"{per_s:,.0f}", f"{rss:.0f} MB"])
            progress("sqlite: measuring")
            misses, hits, batch = samples(args.rows, args.lookups)
            await store.find_suppressions(hits[:1000])  # warm up a little, as a running service would be
            await measure(
                sqlite_cases(path, misses, hits, batch) + await store_cases(store, "SqliteStore", misses, hits, batch),
                lookups,
            )
            await store.close()
    if "postgres" in args.backends:
        import asyncpg

        name = f"validator_bench_{secrets.token_hex(4)}"
        admin = await asyncpg.connect(PG_ADMIN)
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
        try:
            store = await open_store(url)
            progress(f"postgres: loading {args.rows:,} rows")
            per_s, rss = await load(store, args.rows)
            imports.rows.append(["PostgreSQL", f"{per_s:,.0f}", f"{rss:.0f} MB"])
            progress("postgres: measuring")
            misses, hits, batch = samples(args.rows, args.lookups)
            await store.find_suppressions(hits[:1000])
            await measure(
                await asyncpg_cases(url, misses, batch)
                + await store_cases(store, "PostgresStore", misses, hits, batch),
                lookups,
            )
            await store.close()
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()
    lookups.notes.append("misses are the common case on the validation path; the 1,000-address batches are 10% hits")
    lookups.notes.append("address + domain: what one validation asks (two indexed lookups in one call)")
    return [imports, lookups]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.store_lookup", description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="suppression rows to load (default 1,000,000)")
    parser.add_argument("--lookups", type=int, default=20_000, help="point lookups per measurement")
    parser.add_argument("--backends", default="sqlite,postgres", type=lambda s: s.split(","))
    parser.add_argument("--markdown", action="store_true", help="print the tables as markdown")
    args = parser.parse_args(argv)
    for table in asyncio.run(run(args)):
        print(table.markdown() if args.markdown else table.text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
