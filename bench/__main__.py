"""``python -m bench [http|inproc|batch ...] [--quick] [--markdown]``: run benchmarks, print tables.

With no benchmark named, all three run (http, inproc, batch) and a summary table follows.
Ratios compare against a baseline measured in the same run: absolute figures drift from
machine to machine and run to run. Progress goes to stderr; stdout holds only the tables
(as markdown with ``--markdown``, ready to paste into README).
"""

from __future__ import annotations

import argparse
import importlib.util
import runpy
import sys
import time

from . import cold_batch, http, inproc
from .report import SUMMARY_HEADERS, Outcome, Table, progress

CORE = ["http", "inproc", "batch"]
# Benchmarks other people keep in bench/: run as their own `python -m bench.<module>`, when present.
EXTRAS = {"dns": "bench.dns_resolvers", "syntax": "bench.syntax_corpus"}


def _parser(extras: list[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmarks of the validator (never part of the test suite). Contacts only 127.0.0.1.",
        epilog="extra benchmarks, given any unrecognised options: " + (", ".join(extras) or "none present"),
    )
    parser.add_argument("benchmarks", nargs="*", metavar="BENCHMARK",
                        help=f"any of {', '.join(CORE + extras)} (default: {', '.join(CORE)})")
    parser.add_argument("--quick", action="store_true", help="a short smoke run (about a minute)")
    parser.add_argument("--markdown", action="store_true", help="print the tables as markdown")
    parser.add_argument("--seconds", type=float, help="length of one HTTP load run (default 10, quick 2)")
    parser.add_argument("--rounds", type=int, help="interleaved HTTP rounds per server (default 3, quick 1)")
    parser.add_argument("--no-two-workers", action="store_true", help="skip the two-process HTTP figures")
    parser.add_argument("--loadgen", choices=["auto", "wrk", "python"], default="auto",
                        help="HTTP load generator: wrk (installed if missing, as root), else Python (default auto)")
    return parser


def main(argv: list[str] | None = None) -> int:
    extras = [name for name, module in EXTRAS.items() if importlib.util.find_spec(module) is not None]
    parser = _parser(extras)
    args, rest = parser.parse_known_args(argv)
    chosen = args.benchmarks or CORE
    unknown = [name for name in chosen if name not in CORE and name not in extras]
    if unknown:
        parser.error(f"unknown benchmark {unknown[0]!r}; choose from {', '.join(CORE + extras)}")
    if rest and not any(name in extras for name in chosen):
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    outcomes: list[Outcome] = []
    began = time.perf_counter()
    for name in chosen:
        if name in EXTRAS:
            progress(f"running {EXTRAS[name]} {' '.join(rest)}")
            sys.argv = [EXTRAS[name], *rest]
            runpy.run_module(EXTRAS[name], run_name="__main__", alter_sys=True)
            continue
        outcomes.append(_run(name, args))
        _print(outcomes[-1].details, args.markdown)
    if outcomes:
        summary = Table(
            f"Summary ({'quick' if args.quick else 'full'} run, {time.perf_counter() - began:.0f} s, ratios within this run)",
            SUMMARY_HEADERS, [row for outcome in outcomes for row in outcome.summary],
        )
        _print([summary], args.markdown)
    return 0


def _run(name: str, args: argparse.Namespace) -> Outcome:
    quick = args.quick
    if name == "http":
        seconds = args.seconds or (2.0 if quick else 10.0)
        rounds = args.rounds or (1 if quick else 3)
        return http.run(seconds, rounds, 1.0 if quick else 3.0, not args.no_two_workers, args.loadgen)
    if name == "inproc":
        return inproc.run(calls=5_000 if quick else 20_000, repeats=3 if quick else 7)
    addresses, domains, subset = (10_000, 500, 1_000) if quick else (100_000, 5_000, 5_000)
    return cold_batch.run(addresses, domains, subset)


def _print(tables: list[Table], markdown: bool) -> None:
    for table in tables:
        sys.stdout.write((table.markdown() if markdown else table.text()) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    raise SystemExit(main())
