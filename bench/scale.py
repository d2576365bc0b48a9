"""``python -m bench scale [--quick] [--parts startup,lookups] [--backends sqlite,postgres] [--keep DIR]``.

A large suppression list (10M entries, quick 1M). The start-up part is on SQLite; the lookup part
(``scale_lookups.py``) measures bulk lookups on both backends against an empty store of each.

Reports, for an empty store and the large one, in the same run: seconds from start to /healthz
and to the key filter's taking over (/readyz ``key_filters_building`` 0), the longest /healthz
round trip while the filter is built (how long the event loop stalls behind the build thread),
the resident memory of the server and of its job child, and /v1/validate throughput. The list
is written straight into SQLite (``bench.scale_seed``), not through the API.
"""

from __future__ import annotations

import argparse
import subprocess
import time
from pathlib import Path

import orjson

from . import http
from .dnsfixture import DnsProcess
from .loadgen import ensure_wrk, run_python, run_wrk
from .report import Outcome, Table, progress
from .scale_lookups import run_lookups
from .scale_seed import seed_suppressions
from .servers import Server, free_port, proc_status_kib

HEADERS = [
    "Suppressions",
    "To /healthz (s)",
    "To filter ready (s)",
    "Longest /healthz during build (ms)",
    "Server RSS (MiB)",
    "Job child RSS (MiB)",
    "Validations/s",
]


def _start_timed(server: Server) -> tuple[float, float, float]:
    """Start ``server``; seconds to /healthz, seconds until no key filter is building, and the
    longest /healthz round trip seen meanwhile (polled back to back)."""
    began = time.monotonic()
    server.start()  # returns at the first 200 from /healthz
    healthz = time.monotonic() - began
    longest = 0.0
    while time.monotonic() - began < 900:
        asked = time.monotonic()
        server.request("GET", "/healthz")
        longest = max(longest, time.monotonic() - asked)
        status, body = server.request("GET", "/readyz")
        if status == 200 and not orjson.loads(body).get("key_filters_building", 0):
            break
    return healthz, time.monotonic() - began, longest


def _child_rss_mib(server: Server) -> float:
    assert server.process is not None
    children = [pid for pid in server.group_pids() if pid != server.process.pid]
    return sum(proc_status_kib(pid, "VmRSS") for pid in children) / 1024


def _measure(entries: int, seconds: float, dns: DnsProcess, wrk: str | None) -> list[str]:
    server = http.ours(access_log=False)(free_port(), dns.nameserver)
    try:
        if entries:
            progress(f"seeding {entries:,} suppressions")
            seed_suppressions(server.workdir / "validator.sqlite3", entries)
        subprocess.run(["sync"], check=False)
        healthz, ready, longest = _start_timed(server)
        time.sleep(2)  # let the job child finish starting before reading its memory
        server_mib, child_mib = server.memory_kib() / 1024, _child_rss_mib(server)
        http.warm(server, 1)
        load = (
            run_wrk(wrk, server.port, seconds, http.CONNECTIONS, 0, http.DOMAINS, http.LOAD_CPU, server.headers)
            if wrk
            else run_python(server.port, seconds, http.CONNECTIONS, 0, http.DOMAINS, http.LOAD_CPU, server.headers)
        )
        return [
            f"{entries:,}",
            f"{healthz:.2f}",
            f"{ready:.2f}",
            f"{longest * 1000:.0f}",
            f"{server_mib:.1f}",
            f"{child_mib:.1f}",
            f"{load.requests_per_s:,.0f}",
        ]
    finally:
        server.stop()


def _options(rest: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench scale")
    parser.add_argument("--parts", default="startup,lookups", help="startup, lookups or both (default both)")
    parser.add_argument("--backends", default="sqlite,postgres", help="stores for the lookup part")
    parser.add_argument("--entries", type=int, help="list size (default 10,000,000; quick 1,000,000)")
    parser.add_argument("--keep", type=Path, help="keep the seeded lists here (and in PostgreSQL) for later runs")
    return parser.parse_args(rest)


def run(quick: bool, seconds: float | None, rounds: int | None, loadgen: str, rest: list[str]) -> Outcome:
    options = _options(rest)
    parts = set(options.parts.split(","))
    entries = options.entries or (1_000_000 if quick else 10_000_000)
    wrk, _why = ensure_wrk() if loadgen != "python" else (None, "")
    tables = []
    with DnsProcess(http.DOMAINS) as dns:
        if "startup" in parts:
            rows = [_measure(count, seconds or (2.0 if quick else 8.0), dns, wrk) for count in (0, entries)]
            tables.append(
                Table(
                    f"Start-up and memory with a large suppression list (SQLite, {entries:,} entries)",
                    HEADERS,
                    rows,
                    [
                        "validations use fresh addresses (not suppressed): each asks the key filter, or SQLite "
                        "before it is built; the job child holds no filter"
                    ],
                )
            )
        if "lookups" in parts:
            if wrk is None:
                raise RuntimeError("the lookup part needs wrk")
            if options.keep is not None:
                options.keep.mkdir(parents=True, exist_ok=True)
            backends = options.backends.split(",")
            secs, runs = seconds or (2.0 if quick else 5.0), rounds or (1 if quick else 3)
            tables.append(run_lookups(entries, backends, wrk, dns.nameserver, secs, runs, options.keep))
    return Outcome(tables, [])
