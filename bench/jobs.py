"""Bulk jobs end to end: ``python -m bench jobs [--quick]``.

Through the API of real ``validator serve`` processes, with the loopback DNS server of
``dnsfixture.py`` (domain ``i`` is ``d<i>.com``, every address deliverable):

1. **SQLite, 100,000 rows then 1,000,000 rows over 20,000 domains** (quick: 10,000 over 1,000),
   each in a fresh server process: upload seconds, rows/s end to end (upload start to job
   completed), the results download, DNS queries per distinct domain (the server's counters),
   and the peak RSS (``VmHWM``) of the server plus its runner's child, to show memory does not
   grow with the list.
2. **``/v1/validate`` p50/p99** from one sequential client (a new address per request at 100
   warm domains): idle, then while the large job runs (upload included), with the runner in its
   child process (the default) and then in the service's process (``VALIDATOR_JOB_PROCESS=false``).
   Goal: p99 during the job at most 2x idle. The SQLite servers are pinned to CPU 0 (with
   ``VALIDATOR_JOB_PROCESS`` the runner's child inherits it: the service gets one core), the
   loopback DNS server and this bench's clients to CPU 1: the DNS server stands for resolvers
   on other machines, and unpinned it took the CPU the real-time loop waited for.
3. **PostgreSQL, one replica vs two** (same run, same list of 200,000 rows; quick 10,000):
   rows/s end to end; the second replica works chunks as soon as the job is queued.

The list is a CSV written to a temporary file and streamed to the server (never held whole
by the bench either). Contacts only 127.0.0.1.
"""

from __future__ import annotations

import http.client
import os
import random
import shutil
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

from .databases import Databases
from .dnsfixture import DnsProcess
from .report import Outcome, Table, met, progress, rate
from .servers import HOST, Server, free_port, validator_command

PROBE_DOMAINS = 100  # the latency probe's own domains (after the list's), warmed before measuring
SERVER_CPU, LOAD_CPU = "0", 1  # the SQLite servers; the DNS server and the bench's own clients


@dataclass
class JobRun:
    label: str
    rows: int
    upload_s: float
    total_s: float
    download_s: float
    queries_per_domain: str
    peak_rss_mib: float
    statuses: dict[str, int]

    def row(self) -> list[str]:
        return [
            self.label,
            f"{self.rows:,}",
            f"{self.upload_s:.1f} s",
            f"{self.total_s:.1f} s",
            rate(self.rows / self.total_s),
            rate(self.rows / self.download_s),
            self.queries_per_domain,
            f"{self.peak_rss_mib:.0f} MiB",
            ", ".join(f"{k} {v:,}" for k, v in sorted(self.statuses.items())),
        ]


def write_list(path: Path, rows: int, domains: int, seed: int = 6) -> int:
    """``rows`` distinct addresses over ``domains`` domains, shuffled, as a one-column CSV;
    the number of distinct domains used."""
    rng = random.Random(seed)
    used: set[int] = set()
    with path.open("w") as out:
        out.write("email\n")
        for start in range(0, rows, 100_000):
            picks = [rng.randrange(domains) for _ in range(start, min(rows, start + 100_000))]
            used.update(picks)
            out.write("".join(f"user{n}@d{d}.com\n" for n, d in enumerate(picks, start)))
    return len(used)


def start_server(
    name: str, dns: DnsProcess, database_url: str, job_process: bool = True, cpus: str | None = None
) -> Server:
    port = free_port()
    env = {
        "VALIDATOR_JOB_PROCESS": str(job_process).lower(),
        "VALIDATOR_DNS_NAMESERVERS": dns.nameserver,
        "VALIDATOR_AUTH": "false",
        "VALIDATOR_ACCESS_LOG": "false",
        "VALIDATOR_DATABASE_URL": database_url,
        "VALIDATOR_JOB_POLL_SECONDS": "0.2",
        "VALIDATOR_LOG_LEVEL": "WARNING",
    }
    return Server(name, [*validator_command(), "serve", "--port", str(port)], port, env, cpus=cpus).start()


def submit(server: Server, path: Path) -> str:
    connection = http.client.HTTPConnection(HOST, server.port, timeout=600, blocksize=1 << 16)
    try:
        with path.open("rb") as body:
            connection.request(
                "POST",
                "/v1/jobs",
                body=body,
                headers={"Content-Type": "text/csv", "Content-Length": str(path.stat().st_size)},
            )
            response = connection.getresponse()
            text = response.read()
    finally:
        connection.close()
    if response.status != 202:
        raise RuntimeError(f"submit answered {response.status}: {text[:300]!r}")
    return orjson.loads(text)["id"]


def wait_done(server: Server, job_id: str) -> dict:
    while True:
        status, body = server.request("GET", f"/v1/jobs/{job_id}")
        job = orjson.loads(body)
        if status != 200 or job["status"] in ("failed", "cancelled"):
            raise RuntimeError(f"job {job_id}: {job}")
        if job["status"] == "completed":
            return job
        time.sleep(0.25)


def download(server: Server, job_id: str, expected: int) -> float:
    began = time.perf_counter()
    connection = http.client.HTTPConnection(HOST, server.port, timeout=600)
    try:
        connection.request("GET", f"/v1/jobs/{job_id}/results")
        response = connection.getresponse()
        lines = sum(block.count(b"\n") for block in iter(lambda: response.read(1 << 20), b""))
    finally:
        connection.close()
    if lines != expected:
        raise RuntimeError(f"results hold {lines:,} rows, expected {expected:,}")
    return time.perf_counter() - began


def load_cpus() -> set[int] | None:
    """Where the DNS server and the probe run (CPU ``LOAD_CPU``), or None on a machine of one CPU."""
    affinity = os.sched_getaffinity(0)
    return {LOAD_CPU} if len(affinity) > 1 and LOAD_CPU in affinity else None


class Probe(threading.Thread):
    """Sequential ``/v1/validate`` requests on one keep-alive connection, latency of each."""

    def __init__(self, port: int, start: int, domains: int) -> None:
        super().__init__(daemon=True)
        self.port, self.n, self.latencies, self.first_domain = port, start, [], domains
        self.stop = threading.Event()

    def run(self) -> None:
        cpus = load_cpus()
        if cpus:
            os.sched_setaffinity(0, cpus)  # this thread only: off the server's CPU
        connection = http.client.HTTPConnection(HOST, self.port, timeout=30)
        try:
            while not self.stop.is_set():
                self.n += 1
                body = orjson.dumps({"email": f"probe{self.n}@d{self.first_domain + self.n % PROBE_DOMAINS}.com"})
                began = time.perf_counter()
                connection.request("POST", "/v1/validate", body=body, headers={"Content-Type": "application/json"})
                connection.getresponse().read()
                self.latencies.append((time.perf_counter() - began) * 1000)
                time.sleep(0.002)  # a steady trickle, not a load test
        finally:
            connection.close()


def percentiles(latencies: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(latencies, n=100)
    return statistics.median(latencies), cuts[98]


def measure_idle(server: Server, seconds: float, domains: int) -> tuple[float, float, int]:
    warm = Probe(server.port, 0, domains)
    warm.start()
    time.sleep(1.0)  # every probe domain in the MX cache
    warm.stop.set()
    warm.join()
    probe = Probe(server.port, 1_000_000, domains)
    probe.start()
    time.sleep(seconds)
    probe.stop.set()
    probe.join()
    return (*percentiles(probe.latencies), len(probe.latencies))


def sqlite_job(
    dns: DnsProcess, workdir: Path, rows: int, domains: int, probe_idle: float | None, job_process: bool = True
) -> tuple[JobRun, tuple[float, float, int] | None, tuple[float, float, int] | None]:
    """One job in a fresh server; with ``probe_idle`` seconds, the latency probe idle and during the job."""
    path = workdir / f"list-{rows}.csv"
    distinct = write_list(path, rows, domains)
    mode = "child" if job_process else "inproc"
    server = start_server(
        f"jobs-{rows}-{mode}", dns, f"sqlite:///{workdir / f'jobs-{rows}-{mode}.sqlite3'}", job_process, cpus=SERVER_CPU
    )
    try:
        idle = measure_idle(server, probe_idle, domains) if probe_idle else None
        queries = dns.counts()
        probe = Probe(server.port, 2_000_000, domains) if probe_idle else None
        began = time.perf_counter()
        if probe:
            probe.start()
        job_id = submit(server, path)
        uploaded = time.perf_counter() - began
        job = wait_done(server, job_id)
        total = time.perf_counter() - began
        during = None
        if probe:
            probe.stop.set()
            probe.join()
            during = (*percentiles(probe.latencies), len(probe.latencies))
        spent = dns.counts().minus(queries)
        label = f"SQLite, {rows:,} rows" + ("" if job_process else ", runner in the service's process")
        run = JobRun(
            label,
            rows,
            uploaded,
            total,
            download(server, job_id, rows),
            spent.per_domain(distinct),
            server.memory_kib("VmHWM", group=True) / 1024,
            job["counts"]["statuses"],
        )
    finally:
        server.stop()
        path.unlink(missing_ok=True)
    return run, idle, during


def postgres_jobs(dns: DnsProcess, workdir: Path, rows: int, domains: int) -> list[JobRun]:
    """The same list on one replica, then on two (a fresh database each)."""
    path = workdir / f"list-pg-{rows}.csv"
    distinct = write_list(path, rows, domains, seed=7)
    databases = Databases()
    runs = []
    try:
        for replicas in (1, 2):
            url = databases.postgres()
            servers = [start_server(f"jobs-pg{replicas}-{i}", dns, url) for i in range(replicas)]
            try:
                queries = dns.counts()
                began = time.perf_counter()
                job_id = submit(servers[0], path)
                uploaded = time.perf_counter() - began
                job = wait_done(servers[0], job_id)
                total = time.perf_counter() - began
                spent = dns.counts().minus(queries)
                rss = max(s.memory_kib("VmHWM", group=True) for s in servers) / 1024
                runs.append(
                    JobRun(
                        f"PostgreSQL, {replicas} replica{'s' if replicas > 1 else ''}",
                        rows,
                        uploaded,
                        total,
                        download(servers[-1], job_id, rows),
                        spent.per_domain(distinct),
                        rss,
                        job["counts"]["statuses"],
                    )
                )
            finally:
                for server in servers:
                    server.stop()
    finally:
        databases.cleanup()
        path.unlink(missing_ok=True)
    return runs


def run(quick: bool) -> Outcome:
    small, large, domains, pg_rows = (2_000, 10_000, 1_000, 10_000) if quick else (100_000, 1_000_000, 20_000, 200_000)
    workdir = Path(tempfile.mkdtemp(prefix="jobs-bench-"))
    pin = load_cpus()
    try:
        with DnsProcess(domains + PROBE_DOMAINS, cpus=pin) as dns:
            progress(f"jobs: SQLite, {small:,} rows over {domains:,} domains")
            first, _, _ = sqlite_job(dns, workdir, small, domains, None)
            progress(f"jobs: SQLite, {large:,} rows over {domains:,} domains, with the /v1/validate probe")
            second, child_idle, child_during = sqlite_job(dns, workdir, large, domains, 3.0 if quick else 10.0)
            progress(f"jobs: SQLite, {large:,} rows, runner in the service's process, with the probe")
            inproc, idle, during = sqlite_job(dns, workdir, large, domains, 3.0 if quick else 10.0, False)
            progress(f"jobs: PostgreSQL, {pg_rows:,} rows, one replica then two")
            pg = postgres_jobs(dns, workdir, pg_rows, domains)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    assert idle is not None and during is not None and child_idle is not None and child_during is not None
    jobs = Table(
        f"Bulk jobs through the API ({'quick' if quick else 'full'} run), CSV upload, loopback DNS",
        [
            "Run",
            "Rows",
            "Upload",
            "Upload to completed",
            "Rows/s end to end",
            "Results download",
            "DNS queries per domain",
            "Peak RSS",
            "Statuses",
        ],
        [r.row() for r in (first, second, inproc, *pg)],
        [
            f"{domains:,} domains; a fresh server process per run "
            "(peak RSS: VmHWM of the server plus its job runner child, if any)",
            "DNS queries per domain: MX, A and AAAA of the MX host are one set (3.00); PostgreSQL with two "
            "replicas asks up to twice, once per replica's cache",
        ],
    )
    ratio, child_ratio = during[1] / idle[1], child_during[1] / child_idle[1]
    latency = Table(
        "/v1/validate latency while a job runs (one sequential client, warm domains)",
        ["When", "Requests", "p50", "p99"],
        [
            ["idle", f"{child_idle[2]:,}", f"{child_idle[0]:.2f} ms", f"{child_idle[1]:.2f} ms"],
            [
                f"during the {large:,}-row job, runner in its child process (the default)",
                f"{child_during[2]:,}",
                f"{child_during[0]:.2f} ms",
                f"{child_during[1]:.2f} ms",
            ],
            ["idle (second server)", f"{idle[2]:,}", f"{idle[0]:.2f} ms", f"{idle[1]:.2f} ms"],
            [
                f"during the {large:,}-row job, runner in the service's process (VALIDATOR_JOB_PROCESS=false)",
                f"{during[2]:,}",
                f"{during[0]:.2f} ms",
                f"{during[1]:.2f} ms",
            ],
        ],
        [
            f"p99 during / idle: {child_ratio:.2f}x with the child process, {ratio:.2f}x in process (goal at most 2x)",
            f"SQLite servers pinned to CPU {SERVER_CPU}, the DNS server and the clients to CPU {LOAD_CPU}"
            if pin
            else "not pinned (fewer than 2 CPUs)",
        ],
    )
    rss_growth = second.peak_rss_mib / first.peak_rss_mib
    summary = [
        [f"Job, {large:,} rows, SQLite", rate(large / second.total_s), "", "", "", "-"],
        [
            "Peak RSS (server + runner), small vs large list",
            f"{first.peak_rss_mib:.0f} / {second.peak_rss_mib:.0f} MiB",
            "",
            f"{rss_growth:.2f}x",
            "< 300 MiB, flat",
            met(second.peak_rss_mib < 300 and rss_growth < 1.5),
        ],
        [
            "/v1/validate p99 during a job vs idle",
            f"{child_during[1]:.2f} ms",
            f"{child_idle[1]:.2f} ms",
            f"{child_ratio:.2f}x",
            "<= 2x",
            met(child_ratio <= 2),
        ],
        ["same, runner in the service's process", f"{during[1]:.2f} ms", f"{idle[1]:.2f} ms", f"{ratio:.2f}x", "", "-"],
        [
            f"PostgreSQL job, {pg_rows:,} rows, 2 replicas vs 1",
            rate(pg_rows / pg[1].total_s),
            rate(pg_rows / pg[0].total_s),
            f"{pg[0].total_s / pg[1].total_s:.2f}x",
            "",
            "-",
        ],
    ]
    return Outcome([jobs, latency], summary)
