"""Bulk lookups against a large suppression list, on SQLite and PostgreSQL: the lookup part of ``bench scale``.

``POST /v1/suppressions/lookup`` with 1,000 addresses per request, 8 connections (wrk), against a
list of N entries (10M; quick: 1M) spread over 200,000 domains, and against an empty store of the
same backend: the baseline of the same run, with the same bodies. Three kinds of body, 200 of
each, cycled through: 10% of the addresses suppressed and 100% suppressed, both at domains drawn
from all 200,000 (about 126,000 distinct domains per cycle, more than the syntax step's domain
memo held), and 10% suppressed at 20,000 domains (the spread a memo of 50,000 domains covers).

The lists are written straight into each backend's own schema by one SQL statement (a recursive
CTE in SQLite, ``generate_series`` in PostgreSQL), in key order. With ``--keep DIR`` the SQLite
file lives in DIR and the PostgreSQL database (``bench_scale_<N>``) is kept, so later runs reuse
them (seeding 10M takes minutes); without it both are removed at the end.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from .databases import PG_ADMIN, Databases, create_schema, pg_admin, postgres_url
from .loadgen import Load, lua_headers, run_wrk_script
from .report import Table, median, progress, rate, times
from .servers import Server
from .suppressions.harness import LOOKUP_LUA, LOOKUP_PATH, start_server

LIST_DOMAINS = 200_000  # user<n>@d<n % LIST_DOMAINS>.com
NARROW_DOMAINS = 20_000
BATCH, BODIES, CONNECTIONS = 1_000, 200, 8
LOOKUP_GOAL = 50_000  # addresses/s
SERIES = {  # name: (share suppressed, domains drawn from)
    "10% hits": (0.1, LIST_DOMAINS),
    "100% hits": (1.0, LIST_DOMAINS),
    "10% hits, 20k domains": (0.1, NARROW_DOMAINS),
}


def list_address(n: int) -> str:
    return f"user{n}@d{n % LIST_DOMAINS}.com"


def bodies(entries: int, hits: float, domains: int, seed: int) -> list[list[str]]:
    """``BODIES`` lists of ``BATCH`` addresses at ``domains`` domains, ``hits`` of them stored."""
    rng = random.Random(seed)
    per_domain = entries // LIST_DOMAINS
    out = []
    for _ in range(BODIES):
        stored = round(BATCH * hits)
        emails = [
            list_address(rng.randrange(per_domain) * LIST_DOMAINS + rng.randrange(domains)) for _ in range(stored)
        ]
        emails += [f"nobody{rng.randrange(10**9)}@d{rng.randrange(domains)}.com" for _ in range(BATCH - stored)]
        rng.shuffle(emails)
        out.append(emails)
    return out


# --- seeding ---------------------------------------------------------------------------------

_SQLITE_SEED = """
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ? - 1)
INSERT INTO suppressions (kind, value, id, reason, source, detail, created_at, updated_at, expires_at)
SELECT 'address', value, row_number() OVER (ORDER BY value), 'hard_bounce', 'bench', NULL, ?, ?, NULL
FROM (SELECT 'user' || i || '@d' || (i % ?) || '.com' AS value FROM n) ORDER BY value
"""

_PG_SEED = """
INSERT INTO suppressions (kind, value, reason, source, detail, created_at, updated_at)
SELECT 'address', value, 'hard_bounce', 'bench', NULL, now(), now()
FROM (SELECT 'user' || i || '@d' || (i % $2) || '.com' AS value FROM generate_series(0, $1 - 1) i) s
ORDER BY value
"""


def seed_sqlite(path: Path, entries: int) -> None:
    """A store file holding ``entries`` addresses (ids in key order), unless one is already there."""
    done = path.with_suffix(".seeded")
    if done.exists() and done.read_text() == str(entries):
        progress(f"reusing {path} ({entries:,} entries)")
        return
    path.unlink(missing_ok=True)
    began = time.monotonic()
    asyncio.run(create_schema(f"sqlite:///{path}"))
    if entries:
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            conn.execute("PRAGMA synchronous = OFF")
            conn.execute("PRAGMA cache_size = -500000")
            now = int(time.time() * 1_000_000)
            conn.execute("BEGIN")
            conn.execute(_SQLITE_SEED, (entries, now, now, LIST_DOMAINS))
            conn.execute("UPDATE counters SET value = ? WHERE name = 'suppression_id'", (entries,))
            conn.execute("COMMIT")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
    done.write_text(str(entries))
    progress(f"seeded SQLite with {entries:,} entries in {time.monotonic() - began:.0f} s")


async def _seed_postgres(url: str, entries: int) -> None:
    import asyncpg

    await create_schema(url)
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("SET maintenance_work_mem = '512MB'")
        await conn.execute(_PG_SEED, entries, LIST_DOMAINS)
        await conn.execute("VACUUM ANALYZE suppressions")
    finally:
        await conn.close()


async def _pg_seeded(name: str) -> str | None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        return await conn.fetchval(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1", name
        )
    finally:
        await conn.close()


def seed_postgres(name: str, entries: int) -> str:
    """The URL of database ``name`` holding ``entries`` addresses; made (or remade) unless already there."""
    url = postgres_url(name)
    if asyncio.run(_pg_seeded(name)) == f"seeded {entries}":
        progress(f"reusing PostgreSQL database {name} ({entries:,} entries)")
        return url
    began = time.monotonic()
    asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    asyncio.run(pg_admin(f'CREATE DATABASE "{name}"'))
    asyncio.run(_seed_postgres(url, entries))
    asyncio.run(pg_admin(f"COMMENT ON DATABASE \"{name}\" IS 'seeded {entries}'"))
    progress(f"seeded PostgreSQL with {entries:,} entries in {time.monotonic() - began:.0f} s")
    return url


# --- load ------------------------------------------------------------------------------------


@dataclass
class Subject:
    backend: str
    entries: int
    url: str
    server: Server | None = None
    loads: dict[str, list[Load]] = field(default_factory=dict)

    def per_s(self, series: str) -> float:
        return median([load.requests_per_s for load in self.loads.get(series, [])]) * BATCH

    def p99(self, series: str) -> float:
        return median([load.p99_ms for load in self.loads.get(series, [])])


def _wait_for_filters(server: Server, limit: float = 900) -> None:
    began = time.monotonic()
    while time.monotonic() - began < limit:
        status, body = server.request("GET", "/readyz")
        if status == 200 and not orjson.loads(body).get("key_filters_building", 0):
            return
        time.sleep(0.5)


def _check(subject: Subject, emails: list[str], hits: float) -> None:
    assert subject.server is not None
    status, body = subject.server.request("POST", LOOKUP_PATH, {"emails": emails})
    if status != 200:
        raise RuntimeError(f"{subject.backend}: lookup answered {status}: {body[:300]!r}")
    suppressed = sum(r["suppressed"] for r in orjson.loads(body)["results"])
    expected = round(BATCH * hits) if subject.entries else 0
    if suppressed != expected:
        raise RuntimeError(f"{subject.backend} {subject.entries:,}: {suppressed} suppressed, expected {expected}")


def measure(subjects: list[Subject], wrk: str, nameserver: str, entries: int, seconds: float, rounds: int) -> None:
    """Every series against every subject, rounds interleaved (A, B, C, D, A, B, ...)."""
    work = {name: bodies(entries, hits, domains, seed) for seed, (name, (hits, domains)) in enumerate(SERIES.items())}
    for subject in subjects:
        subject.server = start_server(f"scale-{subject.backend}-{subject.entries}", subject.url, nameserver)
        _wait_for_filters(subject.server)
    scripts = {}
    for subject in subjects:
        assert subject.server is not None
        for name, series in work.items():
            _check(subject, series[0], SERIES[name][0])
            lua = ",\n".join(f"[==[{orjson.dumps({'emails': emails}).decode()}]==]" for emails in series)
            scripts[subject.backend, subject.entries, name] = LOOKUP_LUA.format(
                headers=lua_headers(subject.server.headers), bodies=lua
            )
    for r in range(rounds):
        for name in work:
            for subject in subjects:
                assert subject.server is not None
                progress(f"lookups round {r + 1}/{rounds}: {subject.backend} {subject.entries:,}, {name}")
                script = scripts[subject.backend, subject.entries, name]
                if r == 0:  # warm caches (and the domain memo) once before the first timed run
                    run_wrk_script(wrk, subject.server.port, LOOKUP_PATH, script, 1, CONNECTIONS, "1", timeout_s=30)
                load = run_wrk_script(
                    wrk, subject.server.port, LOOKUP_PATH, script, seconds, CONNECTIONS, "1", timeout_s=30
                )
                subject.loads.setdefault(name, []).append(load)


def run_lookups(
    entries: int, backends: list[str], wrk: str, nameserver: str, seconds: float, rounds: int, keep: Path | None
) -> Table:
    databases = Databases()
    subjects: list[Subject] = []
    try:
        for backend in backends:
            if backend == "sqlite":
                path = (keep or databases.workdir) / f"scale-{entries}.sqlite3"
                seed_sqlite(path, entries)
                subjects += [
                    Subject("SQLite", 0, databases.sqlite("empty")),
                    Subject("SQLite", entries, f"sqlite:///{path}"),
                ]
                asyncio.run(create_schema(subjects[-2].url))
            else:
                full = seed_postgres(f"bench_scale_{entries}", entries)
                if keep is None:
                    databases.pg_names.append(f"bench_scale_{entries}")
                empty = databases.postgres()
                asyncio.run(create_schema(empty))
                subjects += [Subject("PostgreSQL", 0, empty), Subject("PostgreSQL", entries, full)]
        measure(subjects, wrk, nameserver, entries, seconds, rounds)
    finally:
        for subject in subjects:
            if subject.server is not None:
                subject.server.stop()
        databases.cleanup()
    return _table(subjects, entries, seconds, rounds)


def _table(subjects: list[Subject], entries: int, seconds: float, rounds: int) -> Table:
    rows = []
    for empty, full in zip(subjects[::2], subjects[1::2], strict=True):
        for name in SERIES:
            per_s, baseline = full.per_s(name), empty.per_s(name)
            rows.append(
                [
                    full.backend,
                    name,
                    rate(baseline),
                    rate(per_s),
                    times(per_s / baseline) if baseline else "-",
                    f"{full.p99(name):.1f}",
                    f"{per_s / LOOKUP_GOAL:.2f}x",
                ]
            )
    return Table(
        f"Bulk lookups at {entries:,} entries (POST {LOOKUP_PATH}, {BATCH:,} addresses per request)",
        ["Backend", "Bodies", "Empty store", f"{entries:,} entries", "Full / empty", "p99 (ms)", "Of 50,000/s goal"],
        rows,
        [
            f"addresses/s through wrk, {CONNECTIONS} connections, median of {rounds} runs of {seconds:g} s, "
            "rounds interleaved; server pinned to CPU 0, wrk to CPU 1",
            f"list: user<n>@d<n % {LIST_DOMAINS:,}>.com; bodies: {BODIES} of each kind cycled; "
            "misses are addresses never stored, at the same domains",
        ],
    )
