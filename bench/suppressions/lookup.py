"""Part 1, bulk lookups: ``POST /v1/suppressions/lookup`` with 1,000 addresses per request, 100 of them
suppressed, from pre-built bodies that wrk's Lua script cycles through; 8 connections for throughput
and 1 for the latency of one request alone. Baseline: the same server and requests on an empty table.

Holds the runs of this part and its table; the servers are started (and profiled) by ``benchmark``.
"""

from __future__ import annotations

import orjson

from ..report import Table, median, met, ms, percent, progress, rate
from .harness import LOAD_CPU, LOOKUP_PATH, SERVER_CPU, Context, Subject, full_and_empty
from .seeding import BATCH, DOMAINS, HITS

LOOKUP_CONNECTIONS = (8, 1)  # throughput, then one request alone
LOOKUP_GOAL = 50_000  # addresses/s through the bulk endpoint on SQLite


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


def measure_lookups(ctx: Context, subjects: list[Subject]) -> tuple[Table, list[list[str]]]:
    """Caches warmed once, then rounds interleaving the servers; the table and summary rows."""
    for subject in subjects:
        ctx.load(subject, "lookup/8", LOOKUP_CONNECTIONS[0], 1.0, record=False)  # caches warm
    for r in range(ctx.rounds):
        for connections in LOOKUP_CONNECTIONS:
            for subject in subjects:
                if connections == 1 and not subject.rows:
                    continue  # latency alone: the full tables only
                progress(
                    f"suppressions: lookup round {r + 1}/{ctx.rounds}, {subject.label}, {connections} connection(s)"
                )
                ctx.load(subject, f"lookup/{connections}", connections, ctx.seconds)
    return lookup_outcome(ctx, subjects)


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
            _, empty = full_and_empty(subjects, subject.backend)
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
                    subject.pg_cpu_cell(series),
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
    return table, _summary_rows(ctx, subjects)


def _summary_rows(ctx: Context, subjects: list[Subject]) -> list[list[str]]:
    """Addresses/s (SQLite against its empty table and the goal, PostgreSQL against SQLite) and p99."""
    rows = []
    sqlite_full, sqlite_empty = full_and_empty(subjects, "SQLite")
    pg_full, _ = full_and_empty(subjects, "PostgreSQL")
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
        rows.append(_p99_row(sqlite_full))
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
        rows.append(_p99_row(pg_full))
    return rows


def _p99_row(full: Subject) -> list[str]:
    return [
        f"Lookup p99 per {BATCH:,}-address request, {full.backend}, 1 / 8 connections",
        f"{ms(full.med('lookup/1', 'p99_ms'))} / {ms(full.med('lookup/8', 'p99_ms'))}",
        "-",
        "-",
        "-",
        "-",
    ]
