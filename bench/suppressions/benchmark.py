"""One run of the whole suppression benchmark: load the tables, start a server on each, run the chosen
parts in their fixed order (lookup, validate, in process, import), collect tables, summary rows and notes.

The order matters to the figures: the servers are started and warmed together, and rounds interleave
them (A, B, C, A, B, C, ...). The command line is defined by the package's ``parser``; this module
checks the values it parsed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

import orjson

from .. import http as http_bench
from ..databases import Databases
from ..dnsfixture import DnsProcess
from ..loadgen import ensure_wrk, lua_headers
from ..report import Outcome, Table, met, percent, progress
from .csv_import import import_part
from .harness import LOOKUP_LUA, Context, Subject, start_server
from .inprocess import inprocess
from .lookup import LOOKUP_CONNECTIONS, check_lookup, measure_lookups
from .profiling import profile
from .seeding import BLOCKED, DOMAINS, QUICK_ROWS, ROWS, fill_postgres, fill_sqlite, lookup_bodies
from .validate import CHECK_GOAL, VALIDATE_CONNECTIONS, measure_validate

PARTS = ("lookup", "validate", "import")
BACKENDS = ("sqlite", "postgres")


def measure(args: argparse.Namespace, quick: bool, seconds: float | None, rounds: int | None, loadgen: str) -> Outcome:
    """Every part ``args`` asks for; the tables in order, the last one carrying the run's notes."""
    backends = _list(args.backends, BACKENDS, "backend")
    import_backends = _list(args.import_backends, BACKENDS, "backend")
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
                _lookup_and_validate(ctx, backends, parts, dns, outcome)
            if "import" in parts and import_backends:
                _add(outcome, import_part(ctx, import_backends, dns.nameserver))
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


def _list(text: str, allowed: tuple[str, ...], what: str) -> list[str]:
    items = [item for item in text.split(",") if item]
    unknown = [item for item in items if item not in allowed]
    if unknown:
        raise SystemExit(f"unknown {what} {unknown[0]!r}; choose from {', '.join(allowed)}")
    return items


def _add(outcome: Outcome, part: tuple[list[Table], list[list[str]]]) -> None:
    tables, summary = part
    outcome.details += tables
    outcome.summary += summary


def _lookup_and_validate(ctx: Context, backends: list[str], parts: set[str], dns: DnsProcess, outcome: Outcome) -> None:
    """The HTTP parts on every table, then the in-process ones (which need the full SQLite table)."""
    urls, subjects = _load_tables(ctx, backends)
    bodies = lookup_bodies(ctx.rows, 20 if ctx.quick else 100)
    _add(outcome, _http_parts(ctx, subjects, parts, dns, bodies))
    if "sqlite-full" not in urls:
        return
    progress("suppressions: in-process measurements")
    _add(outcome, asyncio.run(inprocess(ctx, dns, urls, bodies, parts)))
    if ctx.check_alone_us is not None and ctx.validate_cpu_us is not None:
        share = ctx.check_alone_us / ctx.validate_cpu_us
        outcome.summary.append(
            [
                f"The check alone (in process) / server CPU per POST /v1/validate, SQLite {ctx.rows:,} rows",
                f"{ctx.check_alone_us:.1f} µs",
                f"{ctx.validate_cpu_us:.0f} µs",
                percent(share),
                f"< {CHECK_GOAL - 1:.0%}",
                met(share < CHECK_GOAL - 1),
            ]
        )


def _load_tables(ctx: Context, backends: list[str]) -> tuple[dict[str, str], list[Subject]]:
    """A full and an empty table on each backend (``{key: url}``, and a subject each); the loading
    rates go into the run's notes."""
    urls: dict[str, str] = {}
    subjects: list[Subject] = []
    loaded: list[str] = []
    for backend in backends:
        for full in (True, False):
            key = f"{backend}-{'full' if full else 'empty'}"
            name = "SQLite" if backend == "sqlite" else "PostgreSQL"
            n = ctx.rows if full else 0
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
    return urls, subjects


def _http_parts(
    ctx: Context, subjects: list[Subject], parts: set[str], dns: DnsProcess, bodies: list[list[str]]
) -> tuple[list[Table], list[list[str]]]:
    """Every server started, checked and warmed first; then the lookup runs, then the validate runs, each
    followed by py-spy's table when ``--profile`` asks for it."""
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
        for part, measure_part, series, connections in (
            ("lookup", measure_lookups, "lookup/8", LOOKUP_CONNECTIONS[0]),
            ("validate", measure_validate, "validate", VALIDATE_CONNECTIONS),
        ):
            if part not in parts:
                continue
            table, rows = measure_part(ctx, subjects)
            tables.append(table)
            summary += rows
            if ctx.profile is not None:
                tables.append(profile(ctx, subjects[0], series, connections))
    finally:
        for subject in subjects:
            if subject.server is not None:
                subject.server.stop()
    return tables, summary
