"""Benchmark of the suppression list, on SQLite and on PostgreSQL.

``python -m bench suppressions [--quick] [--markdown] [--rows N] [--backends sqlite,postgres]
[--parts lookup,validate,import] [--import-backends sqlite,postgres] [--profile DIR]``
(or ``python -m bench.suppressions`` with the same options). Contacts only 127.0.0.1.

The tables (1,000,000 rows; ``--quick``: 100,000) are loaded straight into the schema the store
itself creates (``open_store`` runs the migrations first): SQLite by one ``executemany`` in key
order, PostgreSQL by ``COPY``, both about 5x faster than ``put_suppressions_bulk``, which also
writes an audit row per entry (that path is timed by the import part). Rows are addresses
``user<i>@d<i % 1000>.com`` at the DNS fixture's own domains, plus 1,000 whole domains
``blocked<i>.example``. Every server is a real ``validator serve`` process, configured by
``VALIDATOR_*`` variables, with an API key, pinned to CPU 0 while the load generator runs on CPU 1.

1. **Bulk lookups**: ``POST /v1/suppressions/lookup`` with 1,000 addresses per request, 100 of
   them suppressed (10%), from 100 pre-built bodies (quick: 20) that wrk's Lua script cycles
   through; 8 connections for throughput and 1 connection for the latency of one request alone.
   Baseline: the same server and requests on an empty table (what a 1,000,000-row table costs).
2. **The check's cost on ``POST /v1/validate``**: there is no switch to turn the check off, so
   (a) over HTTP, the same service with an empty table vs with the full one (64 connections, a
   new unsuppressed address per request at a cached domain, as ``bench http``), and (b) in this
   process, ``Checker.check`` with the service's own store vs ``Checker(settings, resolver,
   store=None)`` over the same kind of varied addresses, MX cached (as ``bench inproc``), the
   ratio paired within each repetition; and (c) the check's own steps timed alone (keys,
   ``find_suppressions``, ``matching_entry``), also as a share of the server's CPU per request.
3. **Import**: one CSV file of N rows (the export's columns: kind, value, reason, source,
   detail) streamed to ``POST /v1/suppressions/import`` from an async generator (aiohttp sends it
   chunked; the client never holds it), and the same file through ``validator suppress import``.
   Rows/s, CPU per row, and peak RSS: the server's VmHWM (and VmRSS sampled every 50 ms), the
   CLI's maximum resident size from ``/usr/bin/time`` (and its VmHWM polled every 50 ms).
   PostgreSQL imports are opt-in (``--import-backends sqlite,postgres``): they add ~5 minutes.

Rounds interleave the servers (A, B, C, A, B, C, ...) and ratios are of medians within this run.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import random
import secrets
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import orjson

from validator.checker import Checker
from validator.metrics import Metrics
from validator.model import Address
from validator.store import Store, open_store
from validator.suppressions.keys import address_key, domain_key, matching_entry
from validator.syntax import parse_address
from validator.wire.validation import suppression_json

from . import http as http_bench
from .databases import Databases, create_schema
from .dnsfixture import DnsProcess, varied_address
from .loadgen import Load, ensure_wrk, load_of, lua_headers, run_validate_load, run_wrk_script
from .report import SUMMARY_HEADERS, Outcome, Table, median, met, ms, percent, print_tables, progress, rate, times
from .servers import (
    HOST,
    Server,
    free_port,
    pinned,
    proc_status_kib,
    validator_command,
    validator_env,
)
from .service import bench_settings, service_checker

ROWS, QUICK_ROWS = 1_000_000, 100_000
DOMAINS = 1000  # d<i>.com: the DNS fixture's domains, used by stored rows and validated addresses alike
BLOCKED = 1000  # whole-domain entries, blocked<i>.example: no validated address is at one
BATCH, HITS = 1000, 100  # addresses per lookup request, of which suppressed
LOOKUP_PATH = "/v1/suppressions/lookup"
LOOKUP_CONNECTIONS = (8, 1)  # throughput, then one request alone
VALIDATE_CONNECTIONS = http_bench.CONNECTIONS
SERVER_CPU, LOAD_CPU = "0", "1"
INPROC_OFFSET = 10**9  # in-process addresses: user<n>@... with n far above any stored row
DETAIL = "550 5.1.1 <x>: Recipient address rejected: User unknown"
LOOKUP_GOAL = 50_000  # addresses/s through the bulk endpoint on SQLite
CHECK_GOAL = 1.15  # the check adds under 15% to one validation
RSS_GOAL_MB = 200
TIME = "/usr/bin/time"  # GNU time: the CLI's peak RSS (%M) and CPU
PARTS = ("lookup", "validate", "import")

LOOKUP_LUA = """
-- one thread (-t1): the pre-built bodies are cycled through, one per request
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
{headers}local bodies = {{
{bodies}
}}
local i = 0
request = function()
  i = i % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[i])
end
"""


# --- data ------------------------------------------------------------------------------------


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


# --- stores ----------------------------------------------------------------------------------


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
        (
            (
                kind,
                value,
                n,
                "hard_bounce" if kind == "address" else "manual",
                DETAIL if kind == "address" else None,
                now,
                now,
            )
            for n, (kind, value) in enumerate(keys, 1)
        ),
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
                columns=["kind", "value", "reason", "source", "detail", "created_at", "updated_at"],
                records=(
                    (
                        kind,
                        value,
                        "hard_bounce" if kind == "address" else "manual",
                        "bench",
                        DETAIL if kind == "address" else None,
                        now,
                        now,
                    )
                    for kind, value in stored_keys(rows)
                ),
            )
            await conn.execute("ANALYZE suppressions")
        finally:
            await conn.close()
    return time.perf_counter() - began


# --- servers ---------------------------------------------------------------------------------


async def _api_key(url: str) -> str:
    store = await open_store(url)
    try:
        _key, token = await store.create_api_key(f"bench-{secrets.token_hex(3)}", ["admin"])
    finally:
        await store.close()
    return token


def start_server(name: str, url: str, nameserver: str, cpus: str | None = SERVER_CPU) -> Server:
    """``validator serve`` on ``url`` as deployed (API key, access log off), started and healthy."""
    server = Server(name, [*validator_command(), "serve"], free_port(), cpus=cpus)
    server.env = {
        "VALIDATOR_HOST": HOST,
        "VALIDATOR_PORT": str(server.port),
        "VALIDATOR_DNS_NAMESERVERS": nameserver,
        "VALIDATOR_DATABASE_URL": url,
        "VALIDATOR_WORKERS": "1",
        "VALIDATOR_AUTH": "true",
        "VALIDATOR_ACCESS_LOG": "false",
        "VALIDATOR_LOG_LEVEL": "WARNING",
    }
    server.headers["Authorization"] = f"Bearer {asyncio.run(_api_key(url))}"
    return server.start()


def postgres_cpu_seconds() -> float:
    """CPU time used so far by every ``postgres`` process on this machine (the cluster is shared:
    other sessions' queries count too, and a backend that exits takes its time with it)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        comm, _, rest = text.partition(" (")[2].rpartition(")")
        if comm == "postgres":
            fields = rest.split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


@dataclass
class Subject:
    """One server under load: its table, and what each run measured."""

    key: str
    label: str
    backend: str  # "SQLite" | "PostgreSQL"
    rows: int
    url: str
    server: Server | None = None
    lookup_lua: str = ""
    loads: dict[str, list[Load]] = field(default_factory=lambda: collections.defaultdict(list))
    cpu_us: dict[str, list[float]] = field(default_factory=lambda: collections.defaultdict(list))
    pg_cpu_us: dict[str, list[float]] = field(default_factory=lambda: collections.defaultdict(list))

    def med(self, series: str, attribute: str) -> float:
        return median([getattr(load, attribute) for load in self.loads[series]])


@dataclass
class Context:
    quick: bool
    rows: int
    seconds: float
    rounds: int
    wrk: str | None
    databases: Databases
    profile: Path | None
    notes: list[str] = field(default_factory=list)
    runs: int = 0
    check_alone_us: float | None = None  # the in-process cost of the check, for the HTTP share
    validate_cpu_us: float | None = None  # server CPU per POST /v1/validate, SQLite full table

    def load(self, subject: Subject, series: str, connections: int, seconds: float, record: bool = True) -> None:
        """One run of ``series`` ("lookup/8", "validate"...) against ``subject``'s server."""
        server = subject.server
        assert server is not None
        self.runs += 1
        cpu, pg = server.cpu_seconds(), postgres_cpu_seconds()
        if series.startswith("lookup"):
            if self.wrk:
                result = run_wrk_script(
                    self.wrk, server.port, LOOKUP_PATH, subject.lookup_lua, seconds, connections, LOAD_CPU, timeout_s=30
                )
            else:
                result = asyncio.run(
                    aiohttp_load(server.port, LOOKUP_PATH, self.lookup_payloads, server.headers, seconds, connections)
                )
        else:
            start = self.runs * http_bench.RUN_STRIDE
            result = run_validate_load(
                self.wrk, server.port, seconds, connections, start, DOMAINS, LOAD_CPU, server.headers
            )
        if not record:
            return
        requests = max(result.requests, 1)
        subject.cpu_us[series].append((server.cpu_seconds() - cpu) / requests * 1e6)
        subject.pg_cpu_us[series].append((postgres_cpu_seconds() - pg) / requests * 1e6)
        subject.loads[series].append(result)

    lookup_payloads: list[bytes] = field(default_factory=list)


async def aiohttp_load(
    port: int, path: str, bodies: list[bytes], headers: dict[str, str], seconds: float, connections: int
) -> Load:
    """The Python stand-in for wrk: ``connections`` aiohttp clients posting the bodies in turn."""
    latencies: list[float] = []
    errors, counter = [0], [0]
    deadline = time.perf_counter() + seconds
    url = f"http://{HOST}:{port}{path}"
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=connections), headers={**headers, "Content-Type": "application/json"}
    ) as session:

        async def client() -> None:
            while time.perf_counter() < deadline:
                body = bodies[counter[0] % len(bodies)]
                counter[0] += 1
                sent = time.perf_counter()
                async with session.post(url, data=body) as response:
                    await response.read()
                    errors[0] += response.status != 200
                latencies.append(time.perf_counter() - sent)

        began = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(connections)))
        elapsed = time.perf_counter() - began
    return load_of(latencies, elapsed, errors[0], "aiohttp")


def check_lookup(subject: Subject, bodies: list[list[str]]) -> None:
    """One request by hand: every answer in order, and exactly the suppressed ones suppressed."""
    assert subject.server is not None
    status, body = subject.server.request("POST", LOOKUP_PATH, {"emails": bodies[0]})
    if status != 200:
        raise RuntimeError(f"{subject.label}: lookup answered {status}: {body[:300]!r}")
    results = orjson.loads(body)["results"]
    suppressed = sum(r["suppressed"] for r in results)
    expected = HITS if subject.rows else 0
    if len(results) != BATCH or suppressed != expected:
        raise RuntimeError(
            f"{subject.label}: {len(results)} answers, {suppressed} suppressed; expected {BATCH} and {expected}"
        )


# --- HTTP parts ------------------------------------------------------------------------------


def http_parts(
    ctx: Context, subjects: list[Subject], parts: set[str], dns: DnsProcess, bodies: list[list[str]]
) -> tuple[list[Table], list[list[str]]]:
    tables: list[Table] = []
    summary: list[list[str]] = []
    ctx.lookup_payloads = [orjson.dumps({"emails": emails}) for emails in bodies]
    lua_bodies = ",\n".join(f"[==[{payload.decode()}]==]" for payload in ctx.lookup_payloads)
    try:
        for subject in subjects:
            progress(f"suppressions: starting validator serve on {subject.label}")
            subject.server = start_server(subject.key, subject.url, dns.nameserver)
            subject.lookup_lua = LOOKUP_LUA.format(headers=lua_headers(subject.server.headers), bodies=lua_bodies)
            check_lookup(subject, bodies)
            if "validate" in parts:
                http_bench.warm(subject.server, 1)
        if "lookup" in parts:
            for subject in subjects:
                ctx.load(subject, "lookup/8", LOOKUP_CONNECTIONS[0], 1.0, record=False)  # caches warm
            for r in range(ctx.rounds):
                for connections in LOOKUP_CONNECTIONS:
                    for subject in subjects:
                        if connections == 1 and not subject.rows:
                            continue  # latency alone: the full tables only
                        progress(
                            f"suppressions: lookup round {r + 1}/{ctx.rounds}, {subject.label}, "
                            f"{connections} connection(s)"
                        )
                        ctx.load(subject, f"lookup/{connections}", connections, ctx.seconds)
            table, rows = lookup_outcome(ctx, subjects)
            tables.append(table)
            summary += rows
            if ctx.profile is not None:
                tables.append(profile(ctx, subjects[0], "lookup/8", LOOKUP_CONNECTIONS[0]))
        if "validate" in parts:
            for subject in subjects:
                ctx.load(subject, "validate", VALIDATE_CONNECTIONS, 1.0, record=False)
            for r in range(ctx.rounds):
                for subject in subjects:
                    progress(f"suppressions: validate round {r + 1}/{ctx.rounds}, {subject.label}")
                    ctx.load(subject, "validate", VALIDATE_CONNECTIONS, ctx.seconds)
            table, rows = validate_outcome(ctx, subjects)
            tables.append(table)
            summary += rows
            if ctx.profile is not None:
                tables.append(profile(ctx, subjects[0], "validate", VALIDATE_CONNECTIONS))
    finally:
        for subject in subjects:
            if subject.server is not None:
                subject.server.stop()
    return tables, summary


def _pair(subjects: list[Subject], backend: str) -> tuple[Subject | None, Subject | None]:
    """(full table, empty table) of one backend."""
    full = next((s for s in subjects if s.backend == backend and s.rows), None)
    empty = next((s for s in subjects if s.backend == backend and not s.rows), None)
    return full, empty


def _pg_cpu(subject: Subject, series: str) -> str:
    return f"{median(subject.pg_cpu_us[series]):,.0f} µs" if subject.backend == "PostgreSQL" else "-"


def lookup_outcome(ctx: Context, subjects: list[Subject]) -> tuple[Table, list[list[str]]]:
    table = Table(
        f"Bulk lookups: POST {LOOKUP_PATH}, {BATCH:,} addresses per request ({HITS / BATCH:.0%} suppressed), "
        f"{ctx.rounds} x {ctx.seconds:g}s runs per server (medians)",
        [
            "Store",
            "Table rows",
            "Connections",
            "Requests/s",
            "Addresses/s",
            "Range (addresses/s)",
            "p50",
            "p99",
            "vs empty table",
            "Server CPU/request",
            "PostgreSQL CPU/request",
            "Errors",
        ],
    )
    for connections in LOOKUP_CONNECTIONS:
        series = f"lookup/{connections}"
        for subject in subjects:
            if not subject.loads[series]:
                continue
            _, empty = _pair(subjects, subject.backend)
            rps = subject.med(series, "requests_per_s")
            ratio = (
                percent(rps / empty.med(series, "requests_per_s"))
                if empty is not None and empty.loads[series] and subject is not empty
                else "-"
            )
            each = [load.requests_per_s * BATCH for load in subject.loads[series]]
            table.rows.append(
                [
                    subject.backend,
                    f"{subject.rows:,}",
                    str(connections),
                    f"{rps:,.1f}/s",
                    rate(rps * BATCH),
                    f"{min(each):,.0f}-{max(each):,.0f}",
                    ms(subject.med(series, "p50_ms")),
                    ms(subject.med(series, "p99_ms")),
                    ratio,
                    f"{median(subject.cpu_us[series]) / 1000:.1f} ms",
                    _pg_cpu(subject, series),
                    str(sum(load.errors for load in subject.loads[series])),
                ]
            )
    tool = "wrk -t1 with a Lua script" if ctx.wrk else "an aiohttp client in the bench process"
    table.notes += [
        f"load: {tool} cycling through {len(ctx.lookup_payloads)} pre-built JSON bodies of {BATCH:,} addresses "
        f"(about {len(ctx.lookup_payloads[0]) // 1024} KiB each; {HITS} stored addresses, the rest never stored, "
        f"all at the {DOMAINS:,} domains of the stored rows); "
        f"server pinned to CPU {SERVER_CPU}, load to CPU {LOAD_CPU}",
        f"{LOOKUP_CONNECTIONS[0]} connections measure throughput (p99 then includes queueing behind the other "
        "requests); 1 connection gives the latency of one request alone",
        "vs empty table: the same server code with no rows (its key filter rules every address out without SQL)",
        "server CPU/request: user+system time of the validator process over the run / requests; PostgreSQL "
        "CPU/request: every postgres process on the machine over the same run (approximate: the cluster is shared)",
    ]
    rows = []
    sqlite_full, sqlite_empty = _pair(subjects, "SQLite")
    pg_full, _ = _pair(subjects, "PostgreSQL")
    if sqlite_full is not None:
        per_s = sqlite_full.med("lookup/8", "requests_per_s") * BATCH
        reference = sqlite_empty.med("lookup/8", "requests_per_s") * BATCH if sqlite_empty else float("nan")
        rows.append(
            [
                f"Lookup addresses/s, SQLite {ctx.rows:,} rows (vs empty table)",
                rate(per_s),
                rate(reference),
                percent(per_s / reference),
                f">= {LOOKUP_GOAL:,}/s",
                met(per_s >= LOOKUP_GOAL),
            ]
        )
        rows.append(
            [
                f"Lookup p99 per {BATCH:,}-address request, SQLite, 1 / 8 connections",
                f"{ms(sqlite_full.med('lookup/1', 'p99_ms'))} / {ms(sqlite_full.med('lookup/8', 'p99_ms'))}",
                "-",
                "-",
                "-",
                "-",
            ]
        )
    if pg_full is not None:
        per_s = pg_full.med("lookup/8", "requests_per_s") * BATCH
        reference = sqlite_full.med("lookup/8", "requests_per_s") * BATCH if sqlite_full else float("nan")
        rows.append(
            [
                f"Lookup addresses/s, PostgreSQL {ctx.rows:,} rows (vs SQLite)",
                rate(per_s),
                rate(reference),
                percent(per_s / reference),
                "-",
                "-",
            ]
        )
        rows.append(
            [
                f"Lookup p99 per {BATCH:,}-address request, PostgreSQL, 1 / 8 connections",
                f"{ms(pg_full.med('lookup/1', 'p99_ms'))} / {ms(pg_full.med('lookup/8', 'p99_ms'))}",
                "-",
                "-",
                "-",
                "-",
            ]
        )
    return table, rows


def validate_outcome(ctx: Context, subjects: list[Subject]) -> tuple[Table, list[list[str]]]:
    table = Table(
        f"POST /v1/validate with the suppression check on an empty vs a {ctx.rows:,}-row table, "
        f"{VALIDATE_CONNECTIONS} connections, {ctx.rounds} x {ctx.seconds:g}s runs per server (medians)",
        [
            "Store",
            "Table rows",
            "Requests/s",
            "Range",
            "p50",
            "p99",
            "vs empty table",
            "Server CPU/request",
            "CPU vs empty table",
            "PostgreSQL CPU/request",
            "Errors",
        ],
    )
    for subject in subjects:
        _, empty = _pair(subjects, subject.backend)
        rps = subject.med("validate", "requests_per_s")
        cpu = median(subject.cpu_us["validate"])
        each = [load.requests_per_s for load in subject.loads["validate"]]
        compare = empty is not None and subject is not empty
        table.rows.append(
            [
                subject.backend,
                f"{subject.rows:,}",
                rate(rps),
                f"{min(each):,.0f}-{max(each):,.0f}",
                ms(subject.med("validate", "p50_ms")),
                ms(subject.med("validate", "p99_ms")),
                percent(rps / empty.med("validate", "requests_per_s")) if compare else "-",
                f"{cpu:.0f} µs",
                times(cpu / median(empty.cpu_us["validate"])) if compare else "-",
                _pg_cpu(subject, "validate"),
                str(sum(load.errors for load in subject.loads["validate"])),
            ]
        )
    table.notes += [
        "load: as `bench http`: a new address per request, user<N>@d<N % 1000>.com with N >= 100,000,000 (never "
        "stored: the common case of an address that is not suppressed), MX cached beforehand; server on CPU "
        f"{SERVER_CPU}, {'wrk -t1' if ctx.wrk else 'python -m bench.loadgen'} on CPU {LOAD_CPU}",
        "the check cannot be switched off in a running service: the empty table is the reference, so the ratio is "
        "the cost of the table's size; the cost of the check itself is measured in process (next table)",
        "with PostgreSQL every validation is a query on another process, which the server CPU column does not "
        "include (see the PostgreSQL CPU column) and which runs on the same 2 CPUs",
    ]
    rows = []
    sqlite_full, _ = _pair(subjects, "SQLite")
    if sqlite_full is not None:
        ctx.validate_cpu_us = median(sqlite_full.cpu_us["validate"])
    for backend in ("SQLite", "PostgreSQL"):
        full, empty = _pair(subjects, backend)
        if full is None or empty is None:
            continue
        ratio = full.med("validate", "requests_per_s") / empty.med("validate", "requests_per_s")
        cpu_ratio = median(full.cpu_us["validate"]) / median(empty.cpu_us["validate"])
        rows.append(
            [
                f"HTTP validate req/s, {backend} {ctx.rows:,} rows vs empty table",
                rate(full.med("validate", "requests_per_s")),
                rate(empty.med("validate", "requests_per_s")),
                percent(ratio),
                f"> {1 / CHECK_GOAL:.0%}",
                met(ratio > 1 / CHECK_GOAL),
            ]
        )
        rows.append(
            [
                f"HTTP validate server CPU/request, {backend} {ctx.rows:,} rows vs empty table",
                f"{median(full.cpu_us['validate']):.0f} µs",
                f"{median(empty.cpu_us['validate']):.0f} µs",
                times(cpu_ratio),
                f"< {CHECK_GOAL:g}x",
                met(cpu_ratio < CHECK_GOAL),
            ]
        )
    return table, rows


def profile(ctx: Context, subject: Subject, series: str, connections: int) -> Table:
    """py-spy on the server during one extra run of ``series``: where its samples go."""
    assert subject.server is not None and subject.server.process is not None and ctx.profile is not None
    ctx.profile.mkdir(parents=True, exist_ok=True)
    out = ctx.profile / f"{series.replace('/', '-')}-{subject.key}.txt"
    spy = Path(sys.executable).with_name("py-spy")
    seconds = max(3, round(ctx.seconds))
    progress(f"suppressions: py-spy on {subject.label} during {series} ({out})")
    recorder = subprocess.Popen(
        [
            str(spy),
            "record",
            "-p",
            str(subject.server.process.pid),
            "-d",
            str(seconds),
            "-r",
            "250",
            "-f",
            "raw",
            "-o",
            str(out),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.5)
    ctx.load(subject, series, connections, seconds, record=False)
    recorder.wait(60)
    return profile_table(out, f"py-spy: {subject.label} server during {series} (share of sampled stacks)")


def profile_table(path: Path, title: str, top: int = 15) -> Table:
    leaf: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text().splitlines() if path.exists() else []:
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        total += n
        leaf[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    table = Table(title, ["Function (file:line)", "Self", "Inclusive"])
    for frame, n in leaf.most_common(top):
        table.rows.append([frame, percent(n / total), percent(inclusive[frame] / total)])
    table.notes.append(f"{total:,} samples, idle excluded; the raw stacks are in {path}")
    return table


# --- in-process part -------------------------------------------------------------------------


async def inprocess(
    ctx: Context, dns: DnsProcess, urls: dict[str, str], bodies: list[list[str]], parts: set[str]
) -> tuple[list[Table], list[list[str]]]:
    calls, repeats = (2_000, 7) if ctx.quick else (5_000, 21)
    opened: list[Store] = []
    async with service_checker(dns.host, dns.port, urls["sqlite-full"]) as (checker, resolver, store):
        for first in range(0, DOMAINS, http_bench.WARM_SLICE):
            await checker.check_many([f"warm@d{i}.com" for i in range(first, first + http_bench.WARM_SLICE)])
        settings = bench_settings(dns.host, dns.port, str(ctx.databases.workdir), urls["sqlite-full"])
        checkers: dict[str, Checker] = {"store=None (no check)": Checker(settings, resolver, None, Metrics())}
        stores: dict[str, Store] = {}
        for key, label in (
            ("sqlite-full", f"SQLite, {ctx.rows:,} rows"),
            ("sqlite-empty", "SQLite, empty table"),
            ("postgres-full", f"PostgreSQL, {ctx.rows:,} rows"),
            ("postgres-empty", "PostgreSQL, empty table"),
        ):
            if key == "sqlite-full":
                checkers[f"{label} (the service's own Checker)"] = checker
                stores[label] = store
            elif key in urls:
                opened.append(await open_store(urls[key]))
                stores[label] = opened[-1]
                checkers[label] = Checker(settings, resolver, opened[-1], Metrics())
        try:
            await _sanity(checkers, ctx.rows)
            misses = resolver.stats.cache_misses
            tables, summary = [], []
            if "validate" in parts:
                t, s = await check_costs(ctx, checkers, checker, store, calls, repeats)
                tables.append(t)
                summary += s
            if "lookup" in parts:
                tables.append(await lookup_breakdown(ctx, stores, bodies, min(repeats, 7)))
            if resolver.stats.cache_misses != misses:
                raise RuntimeError("a timed check missed the MX cache")
        finally:
            for extra in opened:
                await extra.close()
    return tables, summary


async def _sanity(checkers: dict[str, Checker], rows: int) -> None:
    for label, checker in checkers.items():
        miss = await checker.check(varied_address(INPROC_OFFSET - 1, DOMAINS))
        if miss.status.value != "deliverable":
            raise RuntimeError(f"in process, {label}: an unsuppressed address is {miss.status.value}")
        if "store=None" not in label and "empty" not in label:
            hit = await checker.check(stored_address(3))
            if hit.status.value != "undeliverable" or hit.suppression is None:
                raise RuntimeError(f"in process, {label}: a stored address is {hit.status.value}")


async def check_costs(
    ctx: Context, checkers: dict[str, Checker], own: Checker, store: Store, calls: int, repeats: int
) -> tuple[Table, list[list[str]]]:
    """µs per ``check`` (and per piece of the check) over fresh addresses, repetitions interleaved.

    A shared machine's load comes and goes in seconds, so each subject is compared with
    ``store=None`` *within the same repetition* (they run next to each other) and the ratio
    reported is the median of those paired ratios; medians and best times are shown too.
    """
    none_label = next(iter(checkers))
    subjects: dict[str, tuple[Callable[[str], Awaitable[object]], bool, int]] = {}  # fn, stored addresses?, calls
    for label, checker in checkers.items():
        subjects[f"Checker.check, {label}"] = (checker.check, False, calls // 5 if "PostgreSQL" in label else calls)
    rows_label = f"SQLite, {ctx.rows:,} rows"

    async def check_alone(email: str) -> object:
        """What ``Checker.check`` adds for the list, with the public pieces it is made of: the keys,
        ``find_suppressions`` (address + domain) and ``matching_entry``, on a parsed address."""
        address = parsed[email]
        return matching_entry(
            address, await store.find_suppressions([address_key(address)], list({domain_key(address)}))
        )

    parsed: dict[str, Address] = {}
    subjects[f"the check alone: keys + find_suppressions + matching_entry, {rows_label}"] = (check_alone, False, calls)
    subjects[f"Checker.check, {rows_label}: a suppressed address"] = (own.check, True, calls)
    stored = random.Random(11).sample(range(address_rows(ctx.rows)), min(calls * repeats, address_rows(ctx.rows)))
    timings: dict[str, list[float]] = {name: [] for name in subjects}
    names = list(subjects)
    for r in range(repeats):
        if r % max(1, repeats // 4) == 0:
            progress(f"suppressions: in process, repetition {r + 1}/{repeats}")
        for name in names if r % 2 == 0 else reversed(names):  # ABC CBA ABC: no subject always goes first
            i, (fn, hits, n) = names.index(name), subjects[name]
            if hits:
                emails = [stored_address(stored[(r * n + k) % len(stored)]) for k in range(n)]
            else:
                first = INPROC_OFFSET + ((r * len(subjects)) + i + 1) * calls
                emails = [varied_address(k, DOMAINS) for k in range(first, first + n)]
            if fn is check_alone:
                parsed.clear()
                parsed.update((e, p) for e in emails if isinstance(p := parse_address(e), Address))
            began = time.perf_counter()
            for email in emails:
                await fn(email)
            timings[name].append((time.perf_counter() - began) / n * 1e6)
    base_name = f"Checker.check, {none_label}"
    base = timings[base_name]

    def paired(name: str) -> float:
        return median([value / reference for value, reference in zip(timings[name], base, strict=False)])

    table = Table(
        f"In process: the suppression check's cost, µs per call, {calls:,} fresh addresses x {repeats} repetitions",
        ["Call", "µs/call (median)", "Best", "Range", "vs store=None (paired median)"],
    )
    for name, values in timings.items():
        table.rows.append(
            [
                name,
                f"{median(values):.1f}",
                f"{min(values):.1f}",
                f"{min(values):.1f}-{max(values):.1f}",
                times(paired(name)),
            ]
        )
    table.notes += [
        "Checker.check awaited in a tight loop in one coroutine, MX cached, a new unsuppressed address per call "
        "(user<N>@d<N % 1000>.com, N >= 10^9, at the stored rows' domains); store=None is Checker(settings, "
        "resolver, store=None): no check at all; the others are built as create_app builds them (same settings, "
        "resolver and metrics)",
        "vs store=None: each repetition's time over store=None's in the same repetition, median over repetitions; "
        "repetitions alternate their order (ABC, CBA, ...)",
        "the check alone: on an already parsed address, the three steps Checker.check adds for the list (the key "
        "filter answers 'certainly not' for almost every miss, so SQLite is rarely asked)",
        f"PostgreSQL rows: {calls // 5:,} calls per repetition (each waits for a query); a suppressed address skips "
        "the MX step and costs more only because the entry is read and rendered into the verdict",
    ]
    ours_name = next(n for n in subjects if n.endswith("(the service's own Checker)"))
    alone_name = next(n for n in subjects if n.startswith("the check alone"))
    alone = median(timings[alone_name]) / median(base)
    summary = [
        [
            f"In process: Checker.check, SQLite {ctx.rows:,} rows vs store=None (paired)",
            f"{median(timings[ours_name]):.1f} µs",
            f"{median(base):.1f} µs",
            times(paired(ours_name)),
            f"< {CHECK_GOAL:g}x",
            met(paired(ours_name) < CHECK_GOAL),
        ],
        [
            f"In process: the check alone (keys + lookup + match), SQLite {ctx.rows:,} rows, vs Checker.check "
            "with store=None",
            f"{median(timings[alone_name]):.1f} µs",
            f"{median(base):.1f} µs",
            percent(alone),
            f"< {CHECK_GOAL - 1:.0%}",
            met(alone < CHECK_GOAL - 1),
        ],
    ]
    ctx.check_alone_us = median(timings[alone_name])
    return table, summary


async def lookup_breakdown(ctx: Context, stores: dict[str, Store], bodies: list[list[str]], repeats: int) -> Table:
    """Where one 1,000-address lookup request's time goes, piece by piece, in this process."""
    sample = bodies[: min(len(bodies), 20)]
    parsed = [[parse_address(e, allow_reserved=True) for e in emails] for emails in sample]
    keys = [
        (
            [address_key(p) for p in ps if isinstance(p, Address)],
            list({domain_key(p) for p in ps if isinstance(p, Address)}),
        )
        for ps in parsed
    ]
    full = next(s for label, s in stores.items() if label.startswith("SQLite") and "empty" not in label)
    found = [await full.find_suppressions(a, d) for a, d in keys]

    def parse(i: int) -> None:
        [parse_address(e, allow_reserved=True) for e in sample[i]]

    def render(i: int) -> None:  # the handler's answer, rebuilt the way the route builds it
        results = []
        for email, p in zip(sample[i], parsed[i], strict=False):
            entry = matching_entry(p, found[i]) if isinstance(p, Address) else None
            results.append(
                {
                    "email": email,
                    "valid": isinstance(p, Address),
                    "suppressed": entry is not None,
                    "reason": entry.reason.value if entry is not None else None,
                    "entry": suppression_json(entry) if entry is not None else None,
                }
            )
        orjson.dumps({"count": len(results), "results": results})

    def decode(i: int) -> None:
        orjson.loads(ctx.lookup_payloads[i] if ctx.lookup_payloads else orjson.dumps({"emails": sample[i]}))

    steps: dict[str, Callable[[int], Awaitable[object] | None]] = {
        "orjson.loads of the request body": decode,
        "parse_address x 1,000": parse,
    }
    for label, store in stores.items():
        steps[f"store.find_suppressions(1,000 addresses, their domains), {label}"] = lambda i, store=store: (
            store.find_suppressions(*keys[i])
        )
    steps["answer: results + orjson.dumps (100 entries)"] = render
    timings: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(repeats):
        for name, fn in steps.items():
            began = time.perf_counter()
            for i in range(len(sample)):
                result = fn(i)
                if result is not None:
                    await result  # type: ignore[misc]
            timings[name].append((time.perf_counter() - began) / len(sample) * 1000)
    table = Table(
        f"In process: the pieces of one {BATCH:,}-address lookup request, ms (median of {repeats})",
        ["Step", "ms/request", "µs/address"],
    )
    for name, values in timings.items():
        table.rows.append([name, f"{median(values):.2f}", f"{median(values) / BATCH * 1000:.2f}"])
    table.notes.append(
        "compare with the server CPU per request of the lookup table: the rest is aiohttp, "
        "auth and the request's own overhead"
    )
    return table


# --- import part -----------------------------------------------------------------------------


@dataclass
class ImportRun:
    path: str
    backend: str
    seconds: float
    cpu_seconds: float
    peak_kib: int  # VmHWM of the server, ru_maxrss of the CLI
    start_kib: int | None = None  # the server's VmRSS before the import
    sampled_kib: int | None = None  # the highest VmRSS sampled during the import


async def stream_import(server: Server, csv_path: Path, rows: int) -> tuple[float, int]:
    """POST the file to /v1/suppressions/import chunked from an async generator; (seconds, sampled peak VmRSS)."""
    assert server.process is not None
    pid, peak, done = server.process.pid, [0], asyncio.Event()

    async def body() -> AsyncIterator[bytes]:
        with csv_path.open("rb") as source:
            while chunk := source.read(1 << 16):
                yield chunk

    async def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], proc_status_kib(pid, "VmRSS"))
            try:
                await asyncio.wait_for(done.wait(), 0.05)
            except TimeoutError:
                pass

    sampler = asyncio.ensure_future(sample())
    url = f"http://{HOST}:{server.port}/v1/suppressions/import?source=bench-import&why=bench"
    began = time.perf_counter()
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None)) as session,
            session.post(url, data=body(), headers={**server.headers, "Content-Type": "text/csv"}) as response,
        ):
            payload = await response.read()
    finally:
        done.set()
        await sampler
    elapsed = time.perf_counter() - began
    if response.status != 200:
        raise RuntimeError(f"import answered {response.status}: {payload[:300]!r}\n{server.log_tail()}")
    totals = orjson.loads(payload)
    if totals["added"] != rows or totals["invalid"]:
        raise RuntimeError(f"import answered {totals}; expected {rows:,} added")
    return elapsed, peak[0]


def import_api(ctx: Context, backend: str, url: str, csv_path: Path, rows: int, nameserver: str) -> ImportRun:
    server = start_server(f"import-{backend.lower()}", url, nameserver)
    try:
        start_kib, cpu = server.memory_kib("VmRSS"), server.cpu_seconds()
        seconds, sampled = asyncio.run(stream_import(server, csv_path, rows))
        return ImportRun(
            "POST /v1/suppressions/import",
            backend,
            seconds,
            server.cpu_seconds() - cpu,
            server.memory_kib("VmHWM"),
            start_kib,
            sampled,
        )
    finally:
        server.stop()


def import_cli(ctx: Context, backend: str, url: str, csv_path: Path, rows: int) -> ImportRun:
    """``validator suppress import FILE`` under ``/usr/bin/time``: its peak RSS and CPU.

    Not ``wait4`` on our own child: ``ru_maxrss`` survives ``exec``, so a child forked from this
    (large) bench process would report our size. ``time`` is small, and forks the CLI itself.
    VmHWM is also polled, as a cross-check and for machines without ``/usr/bin/time``.
    """
    env = validator_env({"VALIDATOR_DATABASE_URL": url, "VALIDATOR_LOG_LEVEL": "WARNING"})
    argv = pinned(
        [*validator_command(), "suppress", "import", str(csv_path), "--source", "bench-import", "--why", "bench"],
        SERVER_CPU,
    )
    usage = ctx.databases.workdir / f"cli-import-{backend.lower()}.time"
    if Path(TIME).exists():
        argv = [TIME, "-f", "%M %U %S", "-o", str(usage), *argv]
    log = ctx.databases.workdir / f"cli-import-{backend.lower()}.log"
    polled = 0
    with log.open("wb") as err:
        began = time.perf_counter()
        process = subprocess.Popen(
            argv, env=env, cwd=ctx.databases.workdir, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err
        )
        while process.poll() is None:
            for child in _descendants(process.pid):
                polled = max(polled, proc_status_kib(child, "VmHWM"))
            time.sleep(0.05)
        elapsed = time.perf_counter() - began
    output = log.read_text(errors="replace")
    if process.returncode != 0 or f"added {rows}," not in output:
        raise RuntimeError(f"validator suppress import exited {process.returncode}: {output[-500:]}")
    if usage.exists():
        peak, user, system = usage.read_text().split()[-3:]
        return ImportRun(
            "validator suppress import (CLI)",
            backend,
            elapsed,
            float(user) + float(system),
            int(peak),
            sampled_kib=polled,
        )
    return ImportRun("validator suppress import (CLI)", backend, elapsed, float("nan"), polled, sampled_kib=polled)


def _descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (the CLI under ``time`` under nothing else)."""
    found, frontier = [pid], [pid]
    while frontier:
        parent = frontier.pop()
        try:
            children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
        except OSError:
            continue
        found += map(int, children)
        frontier += map(int, children)
    return found


def import_part(ctx: Context, backends: list[str], nameserver: str) -> tuple[list[Table], list[list[str]]]:
    rows = ctx.rows
    csv_path = ctx.databases.workdir / "import.csv"
    progress(f"suppressions: writing a {rows:,}-row CSV file")
    write_csv(csv_path, rows)
    size_mb = csv_path.stat().st_size / 1e6
    runs: list[ImportRun] = []
    for backend in backends:
        name = "SQLite" if backend == "sqlite" else "PostgreSQL"
        url = ctx.databases.sqlite("import-api") if backend == "sqlite" else ctx.databases.postgres()
        progress(f"suppressions: importing {rows:,} rows through the API into {name}")
        runs.append(import_api(ctx, name, url, csv_path, rows, nameserver))
        url = ctx.databases.sqlite("import-cli") if backend == "sqlite" else ctx.databases.postgres()
        progress(f"suppressions: importing {rows:,} rows through the CLI into {name}")
        runs.append(import_cli(ctx, name, url, csv_path, rows))
    csv_path.unlink()
    table = Table(
        f"Import of {rows:,} rows ({size_mb:.0f} MB of CSV) into an empty store",
        ["Path", "Store", "Seconds", "Rows/s", "vs CLI", "CPU/row", "Peak RSS", "RSS before", "Sampled peak RSS"],
    )
    summary = []
    for run in runs:
        cli = next(r for r in runs if r.backend == run.backend and r.start_kib is None)
        ratio = cli.seconds / run.seconds
        table.rows.append(
            [
                run.path,
                run.backend,
                f"{run.seconds:.1f}",
                rate(rows / run.seconds),
                percent(ratio) if run is not cli else "-",
                f"{run.cpu_seconds / rows * 1e6:.0f} µs",
                f"{run.peak_kib / 1024:.0f} MB",
                f"{run.start_kib / 1024:.0f} MB" if run.start_kib else "-",
                f"{run.sampled_kib / 1024:.0f} MB" if run.sampled_kib else "-",
            ]
        )
        if run is not cli:
            summary.append(
                [
                    f"Import {rows:,} rows via API, {run.backend}: server peak RSS (vs CLI)",
                    f"{run.peak_kib / 1024:.0f} MB",
                    f"{cli.peak_kib / 1024:.0f} MB",
                    times(run.peak_kib / cli.peak_kib),
                    f"< {RSS_GOAL_MB} MB",
                    met(run.peak_kib / 1024 < RSS_GOAL_MB),
                ]
            )
            summary.append(
                [
                    f"Import {rows:,} rows via API, {run.backend}: rows/s (vs CLI)",
                    rate(rows / run.seconds),
                    rate(rows / cli.seconds),
                    percent(ratio),
                    "-",
                    "-",
                ]
            )
    table.notes += [
        "API: aiohttp client streaming the file from an async generator (64 KiB reads, chunked transfer "
        f"encoding) to a server pinned to CPU {SERVER_CPU}; the CLI is pinned to the same CPU",
        "peak RSS: the server's VmHWM (its whole life, start-up included) and the CLI's maximum resident size "
        "by /usr/bin/time (%M); RSS before: the server's VmRSS just before the upload; sampled: the highest "
        "VmRSS (server) or VmHWM (CLI) seen every 50 ms",
        "CPU/row: user+system time of the server (or CLI) process only; with PostgreSQL the database's own "
        "work is not included",
    ]
    return [table], summary


# --- the run ---------------------------------------------------------------------------------


def parser(standalone: bool = False) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench suppressions" if not standalone else "python -m bench.suppressions",
        description=__doc__.split("\n")[0],
    )
    if standalone:
        parser.add_argument("--quick", action="store_true", help=f"{QUICK_ROWS:,} rows, shorter runs")
        parser.add_argument("--markdown", action="store_true", help="print the tables as markdown")
        parser.add_argument("--seconds", type=float, help="length of one load run (default 4, quick 2)")
        parser.add_argument("--rounds", type=int, help="interleaved rounds per server (default 3, quick 1)")
        parser.add_argument("--loadgen", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--rows", type=int, help=f"suppression rows (default {ROWS:,}, quick {QUICK_ROWS:,})")
    parser.add_argument("--backends", default="sqlite,postgres", help="stores for lookups and validation")
    parser.add_argument("--parts", default=",".join(PARTS), help=f"any of {', '.join(PARTS)}")
    parser.add_argument(
        "--import-backends",
        default="sqlite",
        help="stores to import into (default sqlite; sqlite,postgres adds about 5 minutes)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="also run py-spy on the SQLite server during a lookup and a validate run",
    )
    return parser


def _list(text: str, allowed: tuple[str, ...], what: str) -> list[str]:
    items = [item for item in text.split(",") if item]
    unknown = [item for item in items if item not in allowed]
    if unknown:
        raise SystemExit(f"unknown {what} {unknown[0]!r}; choose from {', '.join(allowed)}")
    return items


def run(quick: bool, seconds: float | None, rounds: int | None, loadgen: str, argv: list[str]) -> Outcome:
    args = parser().parse_args(argv)
    return _run(args, quick, seconds, rounds, loadgen)


def _run(args: argparse.Namespace, quick: bool, seconds: float | None, rounds: int | None, loadgen: str) -> Outcome:
    backends = _list(args.backends, ("sqlite", "postgres"), "backend")
    import_backends = _list(args.import_backends, ("sqlite", "postgres"), "backend")
    parts = set(_list(args.parts, PARTS, "part"))
    rows = args.rows or (QUICK_ROWS if quick else ROWS)
    if rows < 10 * BLOCKED:
        raise SystemExit(f"--rows must be at least {10 * BLOCKED:,}")
    wrk, how = ensure_wrk() if loadgen in ("auto", "wrk") else (None, "the Python load generator was asked for")
    if wrk is None and loadgen == "wrk":
        raise RuntimeError(how)
    ctx = Context(
        quick, rows, seconds or (2.0 if quick else 4.0), rounds or (1 if quick else 3), wrk, Databases(), args.profile
    )
    outcome = Outcome()
    began = time.perf_counter()
    try:
        with DnsProcess(DOMAINS) as dns:
            if parts & {"lookup", "validate"}:
                urls: dict[str, str] = {}
                subjects: list[Subject] = []
                loaded: list[str] = []
                for backend in backends:
                    for full in (True, False):
                        key = f"{backend}-{'full' if full else 'empty'}"
                        name = "SQLite" if backend == "sqlite" else "PostgreSQL"
                        n = rows if full else 0
                        if backend == "sqlite":
                            urls[key] = ctx.databases.sqlite(key)
                            progress(f"suppressions: loading {n:,} rows into SQLite")
                            took = fill_sqlite(urls[key], n)
                        else:
                            urls[key] = ctx.databases.postgres()
                            progress(f"suppressions: loading {n:,} rows into PostgreSQL")
                            took = asyncio.run(fill_postgres(urls[key], n))
                        if full:
                            loaded.append(f"{name} {n / took:,.0f} rows/s ({took:.1f} s)")
                        subjects.append(Subject(key, f"{name}, {n:,} rows", name, n, urls[key]))
                ctx.notes.append(
                    "tables loaded by " + ", ".join(loaded) + " (SQLite: one executemany in key order; "
                    "PostgreSQL: COPY + ANALYZE; schema by the store's own migrations; no audit rows)"
                )
                bodies = lookup_bodies(rows, 20 if quick else 100)
                tables, summary = http_parts(ctx, subjects, parts, dns, bodies)
                outcome.details += tables
                outcome.summary += summary
                if "sqlite-full" in urls:
                    progress("suppressions: in-process measurements")
                    tables, summary = asyncio.run(inprocess(ctx, dns, urls, bodies, parts))
                    outcome.details += tables
                    outcome.summary += summary
                    if ctx.check_alone_us is not None and ctx.validate_cpu_us is not None:
                        share = ctx.check_alone_us / ctx.validate_cpu_us
                        outcome.summary.append(
                            [
                                "The check alone (in process) / server CPU per POST /v1/validate, "
                                f"SQLite {rows:,} rows",
                                f"{ctx.check_alone_us:.1f} µs",
                                f"{ctx.validate_cpu_us:.0f} µs",
                                percent(share),
                                f"< {CHECK_GOAL - 1:.0%}",
                                met(share < CHECK_GOAL - 1),
                            ]
                        )
            if "import" in parts and import_backends:
                tables, summary = import_part(ctx, import_backends, dns.nameserver)
                outcome.details += tables
                outcome.summary += summary
    finally:
        ctx.databases.cleanup()
    if wrk is None:
        ctx.notes.append(f"LOAD GENERATOR: Python stand-in ({how}); it may saturate before the servers do")
    ctx.notes.append(
        f"{'quick' if quick else 'full'} run, {rows:,} rows, {time.perf_counter() - began:.0f} s; "
        f"machine: {os.cpu_count()} CPUs, 1-minute load average {os.getloadavg()[0]:.1f} at the end"
    )
    if outcome.details:
        outcome.details[-1].notes += ctx.notes
    return outcome


def main(argv: list[str] | None = None) -> int:
    args = parser(standalone=True).parse_args(argv)
    outcome = _run(args, args.quick, args.seconds, args.rounds, args.loadgen)
    summary = Table("Summary: suppression list (ratios within this run)", SUMMARY_HEADERS, outcome.summary)
    print_tables([*outcome.details, summary], args.markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
