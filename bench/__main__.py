"""``python -m bench [http|inproc|batch|suppressions ...|probe|jobs|silentdns|hostile|scale] [--quick] [--markdown]``:
run benchmarks, print tables.

With no benchmark named, all three core ones run (http, inproc, batch) and a summary table follows.
``suppressions`` and ``jobs`` (minutes long, need PostgreSQL) and ``probe`` (SMTP RCPT probes against
loopback aiosmtpd servers, then against Postfix's default limits: scripted, and a real Postfix when
it can be installed) and ``silentdns`` (a job vs ``validator batch`` with a resolver that never
answers) run only when named; it takes options of its
own after the shared ones (``python -m bench suppressions --help-suppressions`` lists them).
Ratios compare against a baseline measured in the same run: absolute figures drift from
machine to machine and run to run. Progress goes to stderr; stdout holds only the tables
(as markdown with ``--markdown``, ready to paste into docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import time

from . import cold_batch, hostile, http, inproc, jobs, probe, scale, silent_dns, suppressions
from .report import SUMMARY_HEADERS, Outcome, Table, print_tables, progress
from .servers import ROOT

CORE = ["http", "inproc", "batch"]
# Benchmarks run in this process like the core ones, but only when named (long, or needing
# PostgreSQL); their own options come from the arguments the shared parser does not know.
NAMED = {
    "suppressions": suppressions,
    "probe": probe,
    "jobs": jobs,
    "silentdns": silent_dns,
    "hostile": hostile,
    "scale": scale,
}
# Benchmarks other people keep in bench/, run as `python -m bench.<module> [their options]` when
# present; they print their own tables and are not part of the default run or the summary.
EXTRAS = {
    "dns": "bench.dns_resolvers",
    "syntax": "bench.syntax_corpus",
    "store": "bench.store_lookup",
    "bounces": "bench.bounce_accuracy",
    "ingest": "bench.ingest",
    "typos": "bench.typo_suggestions",
    "accesslog": "bench.access_log",
    "stalled": "bench.stalled",
}


def _parser(extras: list[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmarks of the validator (never part of the test suite). Contacts only 127.0.0.1.",
        epilog="extra benchmarks, which take their own options: " + (", ".join(extras) or "none present"),
    )
    parser.add_argument(
        "benchmarks",
        nargs="*",
        metavar="BENCHMARK",
        help=f"any of {', '.join(CORE + list(NAMED) + extras)} (default: {', '.join(CORE)})",
    )
    parser.add_argument("--quick", action="store_true", help="a short smoke run (about a minute)")
    parser.add_argument("--markdown", action="store_true", help="print the tables as markdown")
    parser.add_argument("--seconds", type=float, help="length of one HTTP load run (default 8, quick 2)")
    parser.add_argument("--rounds", type=int, help="interleaved HTTP rounds per server (default 4, quick 1)")
    parser.add_argument("--no-two-workers", action="store_true", help="skip the two-process HTTP figures")
    parser.add_argument(
        "--loadgen",
        choices=["auto", "wrk", "python"],
        default="auto",
        help="HTTP load generator: wrk (installed if missing, as root), else Python (default auto)",
    )
    parser.add_argument(
        "--help-suppressions", action="store_true", help="list the options of the suppressions benchmark and exit"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    extras = [name for name, module in EXTRAS.items() if importlib.util.find_spec(module) is not None]
    parser = _parser(extras)
    args, rest = parser.parse_known_args(argv)
    if args.help_suppressions:
        suppressions.parser().print_help()
        return 0
    chosen = args.benchmarks or CORE
    unknown = [name for name in chosen if name not in CORE and name not in NAMED and name not in extras]
    if unknown:
        parser.error(f"unknown benchmark {unknown[0]!r}; choose from {', '.join(CORE + list(NAMED) + extras)}")
    if rest and not any(name in extras or name in NAMED for name in chosen):
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    outcomes: list[Outcome] = []
    began, load_before = time.perf_counter(), os.getloadavg()[0]
    for name in chosen:
        if name in EXTRAS:
            progress(f"running python -m {EXTRAS[name]} {' '.join(rest)}")
            sys.stdout.flush()
            subprocess.run([sys.executable, "-m", EXTRAS[name], *rest], cwd=ROOT, check=True)
            continue
        outcomes.append(_run(name, args, rest))
        print_tables(outcomes[-1].details, args.markdown)
    if outcomes:
        summary = Table(
            f"Summary ({'quick' if args.quick else 'full'} run, {time.perf_counter() - began:.0f} s, "
            "ratios within this run)",
            SUMMARY_HEADERS,
            [row for outcome in outcomes for row in outcome.summary],
            [
                f"machine: {os.cpu_count()} CPUs; 1-minute load average {load_before:.1f} before, "
                f"{os.getloadavg()[0]:.1f} after (our own processes add about 2 while loading)"
            ],
        )
        print_tables([summary], args.markdown)
    return 0


def _run(name: str, args: argparse.Namespace, rest: list[str]) -> Outcome:
    quick = args.quick
    if name == "jobs":
        return jobs.run(quick)
    if name in NAMED:
        return NAMED[name].run(quick, args.seconds, args.rounds, args.loadgen, rest)
    if name == "http":
        seconds = args.seconds or (2.0 if quick else 8.0)
        rounds = args.rounds or (1 if quick else 4)
        return http.run(seconds, rounds, 1.0 if quick else 3.0, not args.no_two_workers, args.loadgen)
    if name == "inproc":
        return inproc.run(calls=5_000 if quick else 20_000, repeats=3 if quick else 7)
    addresses, domains, subset = (10_000, 500, 1_000) if quick else (100_000, 5_000, 5_000)
    return cold_batch.run(addresses, domains, subset)


if __name__ == "__main__":
    raise SystemExit(main())
