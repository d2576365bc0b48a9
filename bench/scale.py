"""``python -m bench scale [--quick] [--parts startup,lookups] [--backends sqlite,postgres] [--keep DIR]``.

A large suppression list (10M entries, quick 1M). The start-up part is on SQLite; the lookup part
(``scale_lookups.py``) measures bulk lookups on both backends against an empty store of each.

The start-up part reports, for an empty store and the large one, in the same run:

- start-up: seconds from start to /healthz and to the key filter's taking over (/readyz
  ``key_filters_building`` 0), the longest /healthz round trip while the filter is built (how
  long the event loop stalls behind the build thread), the same two times for a restart on the
  same files (the key file beside the database is mapped again, not rebuilt), and /v1/validate
  throughput;
- memory, with ``VALIDATOR_WORKERS`` 1 and 2: each process's resident size (RSS) and
  proportional share (PSS: a page mapped by n processes counts 1/n in each, so the PSS of a
  replica's processes add up to what it holds), and the size of the key files;
- upkeep (``bench.scale_upkeep``, in a process of its own): how long the filter is off after a
  10,000-key burst written by another process and, in quick mode, after growth past capacity.

The list is written straight into SQLite (``bench.scale_seed``), not through the API.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson

from . import http
from .dnsfixture import DnsProcess
from .loadgen import ensure_wrk, run_validate_load
from .report import Outcome, Table, progress
from .scale_lookups import run_lookups
from .scale_seed import seed_suppressions
from .servers import ROOT, Server, free_port, proc_status_kib

START_HEADERS = [
    "Suppressions",
    "To /healthz (s)",
    "To filter ready (s)",
    "Longest /healthz during build (ms)",
    "Restart: to /healthz (s)",
    "Restart: to filter ready (s)",
    "Validations/s",
]
MEMORY_HEADERS = [
    "Suppressions",
    "Workers",
    "RSS per process (MiB)",
    "PSS per process (MiB)",
    "Replica: sum of PSS (MiB)",
    "Key files (MiB)",
]
UPKEEP_HEADERS = [
    "Suppressions",
    "Build (s)",
    "Filter off after a 10,000-key burst (s)",
    "After growth past capacity (s)",
]


def _ready(server: Server, workers: int) -> bool:
    """Whether no key filter is building, in every worker (each answer comes from one of them)."""
    for _ in range(4 * workers):
        status, body = server.request("GET", "/readyz")
        if status != 200 or orjson.loads(body).get("key_filters_building", 0):
            return False
    return True


def _start_timed(server: Server, workers: int) -> tuple[float, float, float]:
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
        if _ready(server, workers):
            break
    return healthz, time.monotonic() - began, longest


def _stop_keeping_files(server: Server) -> None:
    """Stop the server's processes but keep its folder (``Server.stop`` removes it)."""
    assert server.process is not None
    os.killpg(server.process.pid, signal.SIGTERM)
    server.process.wait(30)


def _pss_kib(pid: int) -> int:
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    return next((int(line.split()[1]) for line in text.splitlines() if line.startswith("Pss:")), 0)


def _touch_filter(server: Server) -> None:
    """Bulk lookups of 50,000 fresh addresses (200,000 probes of the key filter, spread over the
    workers): each process that maps the key file then holds nearly all its pages, as it would
    after a while in service."""
    for batch in range(50):
        emails = [f"fresh{batch}.{i}@touch{i % 997}.example" for i in range(1000)]
        status, body = server.request("POST", "/v1/suppressions/lookup", {"emails": emails})
        if status != 200:
            raise RuntimeError(f"lookup answered {status}: {body[:300]!r}")


def _memory(server: Server) -> tuple[str, str, float]:
    pids = sorted(server.group_pids())
    rss = [proc_status_kib(pid, "VmRSS") / 1024 for pid in pids]
    pss = [_pss_kib(pid) / 1024 for pid in pids]
    return ", ".join(f"{v:.0f}" for v in rss), ", ".join(f"{v:.0f}" for v in pss), sum(pss)


def _key_files_mib(server: Server) -> float:
    return sum(p.stat().st_size for p in server.workdir.glob("*.keys")) / 2**20


def _server(entries: int, workers: int, dns: DnsProcess) -> Server:
    server = http.ours(access_log=False, workers=workers)(free_port(), dns.nameserver)
    if entries:
        progress(f"seeding {entries:,} suppressions")
        seed_suppressions(server.workdir / "validator.sqlite3", entries)
    subprocess.run(["sync"], check=False)
    return server


def _measure(entries: int, seconds: float, dns: DnsProcess, wrk: str | None) -> tuple[list[str], list[str]]:
    server = _server(entries, 1, dns)
    try:
        healthz, ready, longest = _start_timed(server, 1)
        _stop_keeping_files(server)
        again, again_ready, _ = _start_timed(server, 1)
        time.sleep(2)  # let the job child finish starting before reading its memory
        _touch_filter(server)
        rss, pss, replica = _memory(server)
        http.warm(server, 1)
        load = run_validate_load(
            wrk, server.port, seconds, http.CONNECTIONS, 0, http.DOMAINS, http.LOAD_CPU, server.headers
        )
        start = [f"{entries:,}", f"{healthz:.2f}", f"{ready:.2f}", f"{longest * 1000:.0f}"]
        start += [f"{again:.2f}", f"{again_ready:.2f}", f"{load.requests_per_s:,.0f}"]
        return start, [f"{entries:,}", "1", rss, pss, f"{replica:.1f}", f"{_key_files_mib(server):.1f}"]
    finally:
        server.stop()


def _measure_workers(entries: int, dns: DnsProcess) -> list[str]:
    server = _server(entries, 2, dns)
    try:
        _start_timed(server, 2)
        time.sleep(2)
        _touch_filter(server)
        rss, pss, replica = _memory(server)
        return [f"{entries:,}", "2", rss, pss, f"{replica:.1f}", f"{_key_files_mib(server):.1f}"]
    finally:
        server.stop()


def _upkeep(entries: int, growth: bool) -> list[str]:
    progress(f"key filter upkeep at {entries:,} suppressions")
    argv = [sys.executable, "-m", "bench.scale_upkeep", str(entries), *(["--growth"] if growth else [])]
    figures = json.loads(subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=True).stdout)
    after_growth = f"{figures['growth_s']:.2f}" if "growth_s" in figures else "-"
    return [f"{entries:,}", f"{figures['build_s']:.2f}", f"{figures['burst_s']:.2f}", after_growth]


def _options(rest: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench scale")
    parser.add_argument("--parts", default="startup,lookups", help="startup, lookups or both (default both)")
    parser.add_argument("--backends", default="sqlite,postgres", help="stores for the lookup part")
    parser.add_argument("--entries", type=int, help="list size (default 10,000,000; quick 1,000,000)")
    parser.add_argument("--keep", type=Path, help="keep the seeded lists here (and in PostgreSQL) for later runs")
    return parser.parse_args(rest)


def _startup_tables(entries: int, quick: bool, seconds: float | None, dns: DnsProcess, wrk: str | None) -> list[Table]:
    measured = [_measure(count, seconds or (2.0 if quick else 8.0), dns, wrk) for count in (0, entries)]
    memory = [row for _, row in measured] + [_measure_workers(count, dns) for count in (0, entries)]
    upkeep = [_upkeep(entries, growth=quick)]
    return [
        Table(
            f"Start-up with a large suppression list (SQLite, {entries:,} entries, VALIDATOR_WORKERS=1)",
            START_HEADERS,
            [start for start, _ in measured],
            [
                "validations use fresh addresses (not suppressed): each asks the key filter, or SQLite "
                "before it is ready; a restart maps the key file built by the first start"
            ],
        ),
        Table(
            "Memory per process and per replica",
            MEMORY_HEADERS,
            memory,
            [
                "processes in pid order: with 1 worker the server, the multiprocessing resource tracker and "
                "the job child; with 2 the parent, the tracker, each worker and each worker's job child; "
                "the key files are mapped, not copied"
            ],
        ),
        Table("Key filter upkeep after writes by another process", UPKEEP_HEADERS, upkeep, []),
    ]


def run(quick: bool, seconds: float | None, rounds: int | None, loadgen: str, rest: list[str]) -> Outcome:
    options = _options(rest)
    parts = set(options.parts.split(","))
    entries = options.entries or (1_000_000 if quick else 10_000_000)
    wrk, _why = ensure_wrk() if loadgen != "python" else (None, "")
    tables = []
    with DnsProcess(http.DOMAINS) as dns:
        if "startup" in parts:
            tables += _startup_tables(entries, quick, seconds, dns, wrk)
        if "lookups" in parts:
            if wrk is None:
                raise RuntimeError("the lookup part needs wrk")
            if options.keep is not None:
                options.keep.mkdir(parents=True, exist_ok=True)
            backends = options.backends.split(",")
            secs, runs = seconds or (2.0 if quick else 5.0), rounds or (1 if quick else 3)
            tables.append(run_lookups(entries, backends, wrk, dns.nameserver, secs, runs, options.keep))
    return Outcome(tables, [])
