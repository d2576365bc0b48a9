"""Part 2a, the check's cost at scale over HTTP: ``POST /v1/validate`` against the same service with an
empty table and with the full one (64 connections, a new unsuppressed address per request at a cached
domain, as ``bench http``).

There is no switch to turn the check off in a running service, so the empty table is the reference:
the ratio is the cost of the table's size. The cost of the check itself is measured in process
(``check_cost``). Holds the runs of this part and its table; the servers are started (and profiled)
by ``benchmark``.
"""

from __future__ import annotations

from .. import http as http_bench
from ..report import Table, median, met, ms, percent, progress, rate, times
from .harness import LOAD_CPU, SERVER_CPU, Context, Subject, full_and_empty

VALIDATE_CONNECTIONS = http_bench.CONNECTIONS
CHECK_GOAL = 1.15  # the check adds under 15% to one validation


def measure_validate(ctx: Context, subjects: list[Subject]) -> tuple[Table, list[list[str]]]:
    """A warm-up run each, then rounds interleaving the servers; the table and summary rows."""
    for subject in subjects:
        ctx.load(subject, "validate", VALIDATE_CONNECTIONS, 1.0, record=False)
    for r in range(ctx.rounds):
        for subject in subjects:
            progress(f"suppressions: validate round {r + 1}/{ctx.rounds}, {subject.label}")
            ctx.load(subject, "validate", VALIDATE_CONNECTIONS, ctx.seconds)
    return validate_outcome(ctx, subjects)


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
        _, empty = full_and_empty(subjects, subject.backend)
        rps = subject.med("validate", "requests_per_s")
        cpu = median(subject.cpu_us["validate"])
        each = [load.requests_per_s for load in subject.loads["validate"]]
        versus, cpu_versus = "-", "-"
        if empty is not None and subject is not empty:
            versus = percent(rps / empty.med("validate", "requests_per_s"))
            cpu_versus = times(cpu / median(empty.cpu_us["validate"]))
        table.rows.append(
            [
                subject.backend,
                f"{subject.rows:,}",
                rate(rps),
                f"{min(each):,.0f}-{max(each):,.0f}",
                ms(subject.med("validate", "p50_ms")),
                ms(subject.med("validate", "p99_ms")),
                versus,
                f"{cpu:.0f} µs",
                cpu_versus,
                subject.pg_cpu_cell("validate"),
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
    sqlite_full, _ = full_and_empty(subjects, "SQLite")
    if sqlite_full is not None:
        ctx.validate_cpu_us = median(sqlite_full.cpu_us["validate"])
    return table, _summary_rows(ctx, subjects)


def _summary_rows(ctx: Context, subjects: list[Subject]) -> list[list[str]]:
    """Requests/s and server CPU/request of each backend's full table against its empty one."""
    rows = []
    for backend in ("SQLite", "PostgreSQL"):
        full, empty = full_and_empty(subjects, backend)
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
    return rows
