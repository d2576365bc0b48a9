"""A bulk job against a resolver that never answers, against ``validator batch``: ``python -m bench silentdns``.

The resolver is a UDP socket on 127.0.0.1 that reads nothing and answers nothing, so every
domain ends in ``dns_timeout`` (the defaults: 2 s x 2 tries). The same list (2,000 rows over
100 domains; quick: 500 rows) goes once through ``validator batch`` (the baseline: no real-time
requests to yield to) and once as a job through a real ``validator serve`` (upload to
completed). Goal: the job within 2x of the batch. Both take the service's default settings.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from .jobs import start_server, submit, wait_done, write_list
from .report import Outcome, Table, met, progress
from .servers import ROOT, validator_command, validator_env

DOMAINS = 100


class SilentResolver:
    """A bound UDP socket nobody reads, as ``VALIDATOR_DNS_NAMESERVERS`` wants it."""

    def __enter__(self) -> SilentResolver:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        host, port = self.sock.getsockname()
        self.nameserver = f"{host}:{port}"
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()


def batch_seconds(path: Path, workdir: Path, nameserver: str) -> float:
    env = validator_env(
        {"VALIDATOR_DNS_NAMESERVERS": nameserver, "VALIDATOR_DATABASE_URL": f"sqlite:///{workdir / 'batch.sqlite3'}"}
    )
    began = time.perf_counter()
    subprocess.run(
        [*validator_command(), "batch", str(path), "--output", str(workdir / "out.ndjson")],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - began


def job_seconds(path: Path, workdir: Path, nameserver: str) -> tuple[float, dict[str, int]]:
    server = start_server("silent-dns-job", _Nameserver(nameserver), f"sqlite:///{workdir / 'job.sqlite3'}")
    try:
        began = time.perf_counter()
        job = wait_done(server, submit(server, path))
        return time.perf_counter() - began, job["counts"]["statuses"]
    finally:
        server.stop()


class _Nameserver:
    """What ``jobs.start_server`` reads of its DNS fixture."""

    def __init__(self, nameserver: str) -> None:
        self.nameserver = nameserver


def run(quick: bool, *_: object) -> Outcome:
    rows = 500 if quick else 2_000
    workdir = Path(tempfile.mkdtemp(prefix="silent-dns-bench-"))
    try:
        path = workdir / "list.csv"
        write_list(path, rows, DOMAINS)
        with SilentResolver() as resolver:
            progress(f"silentdns: validator batch, {rows:,} rows over {DOMAINS} domains, silent resolver")
            batch = batch_seconds(path, workdir, resolver.nameserver)
            progress("silentdns: the same list as a job through validator serve")
            job, statuses = job_seconds(path, workdir, resolver.nameserver)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    ratio = job / batch
    table = Table(
        f"Bulk job vs validator batch with a resolver that never answers ({rows:,} rows, {DOMAINS} domains)",
        ["Run", "Seconds", "Rows/s", "Statuses"],
        [
            ["validator batch", f"{batch:.1f}", f"{rows / batch:,.0f}", ""],
            [
                "job through the API (upload to completed)",
                f"{job:.1f}",
                f"{rows / job:,.0f}",
                ", ".join(f"{k} {v:,}" for k, v in sorted(statuses.items())),
            ],
        ],
        [
            "default DNS settings: 2 s timeout x 2 tries; batch includes its process start",
            f"job / batch: {ratio:.2f}x (goal at most 2x)",
        ],
    )
    summary = [
        [
            f"Job vs batch, silent resolver, {rows:,} rows",
            f"{job:.1f} s",
            f"{batch:.1f} s",
            f"{ratio:.2f}x",
            "<= 2x",
            met(ratio <= 2),
        ]
    ]
    return Outcome([table], summary)
