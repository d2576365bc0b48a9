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

This package holds the command line (here and in ``__main__``) and one module per piece: ``seeding``
(the rows, bodies, CSV file and fast loading), ``harness`` (the servers and one load run),
``lookup`` (1), ``validate`` (2a), ``check_cost`` and ``inprocess`` (2b, 2c and the lookup's
pieces), ``csv_import`` (3), ``profiling`` (``--profile``) and ``benchmark`` (one run, in order).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..report import SUMMARY_HEADERS, Outcome, Table, print_tables
from .benchmark import PARTS, measure
from .seeding import QUICK_ROWS, ROWS


def parser(standalone: bool = False) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench suppressions" if not standalone else "python -m bench.suppressions",
        description=(__doc__ or "").split("\n")[0],
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


def run(quick: bool, seconds: float | None, rounds: int | None, loadgen: str, argv: list[str]) -> Outcome:
    """``python -m bench suppressions``: the shared options come from ``bench``, ``argv`` holds ours."""
    args = parser().parse_args(argv)
    return measure(args, quick, seconds, rounds, loadgen)


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.suppressions``: every option here, and a summary table of our own."""
    args = parser(standalone=True).parse_args(argv)
    outcome = measure(args, args.quick, args.seconds, args.rounds, args.loadgen)
    summary = Table("Summary: suppression list (ratios within this run)", SUMMARY_HEADERS, outcome.summary)
    print_tables([*outcome.details, summary], args.markdown)
    return 0
