"""Benchmark 1: ``POST /v1/validate`` over HTTP against a plain aiohttp JSON endpoint.

Every server is a process of its own (``validator serve`` from the venv, configured only by
``VALIDATOR_*`` variables, and ``bench.baseline_app``). With one process each, the server is
pinned to CPU 0 and wrk to CPU 1 so they do not fight; the two-worker servers and their wrk
share both CPUs. Ours is warmed first (one batch request over every domain, so each MX answer
is cached) and then every request carries an address never seen before. Runs interleave
(baseline, ours, ..., baseline, ours, ...) and ratios are of the medians.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

from .dnsfixture import DnsProcess
from .loadgen import Load, ensure_wrk, run_python, run_wrk
from .report import Outcome, Table, median, met, ms, percent, progress, rate, times
from .servers import HOST, Server, free_port, metric_values, request, validator_command

DOMAINS = 1000
CONNECTIONS = 64
SERVER_CPU, LOAD_CPU = "0", "1"
RUN_STRIDE = 100_000_000  # each run's first address number: runs never repeat an address
P99_GOAL_MS = 15.0


@dataclass
class Variant:
    key: str
    label: str
    workers: int
    make: Callable[[int, str], Server]  # (port, nameserver) -> a server not yet started
    ours: bool = False
    loads: list[Load] = field(default_factory=list)
    dns_queries: int = 0  # DNS queries the server sent while under load (cached MX: none expected)

    def median(self, attribute: str) -> float:
        return median([getattr(load, attribute) for load in self.loads])


def ours(access_log: bool, workers: int = 1) -> Callable[[int, str], Server]:
    def make(port: int, nameserver: str) -> Server:
        env = {
            "VALIDATOR_HOST": HOST,
            "VALIDATOR_PORT": str(port),
            "VALIDATOR_DNS_NAMESERVERS": nameserver,
            "VALIDATOR_WORKERS": str(workers),
            "VALIDATOR_ACCESS_LOG": "true" if access_log else "false",
            # the access log is written at INFO: WARNING would silence it even when "on"
            "VALIDATOR_LOG_LEVEL": "INFO" if access_log else "WARNING",
        }
        cpus = SERVER_CPU if workers == 1 else None
        name = f"validator-{workers}w-log-{'on' if access_log else 'off'}"
        return Server(name, [*validator_command(), "serve"], port, env, cpus)

    return make


def baseline(kind: str, workers: int = 1) -> Callable[[int, str], Server]:
    def make(port: int, nameserver: str) -> Server:
        argv = [sys.executable, "-m", "bench.baseline_app", kind, "--port", str(port), "--workers", str(workers)]
        return Server(f"{kind}-{workers}w", argv, port, cpus=SERVER_CPU if workers == 1 else None)

    return make


def variants(two_workers: bool) -> list[list[Variant]]:
    """Groups measured together; within a group runs interleave, in this order."""
    single = [
        Variant("baseline", "aiohttp JSON echo (baseline)", 1, baseline("plain")),
        Variant("ours", "validator, access log off", 1, ours(access_log=False), ours=True),
        Variant("wrapper", "plain email-validator wrapper", 1, baseline("email-validator")),
        Variant("ours_log", "validator, access log on (INFO)", 1, ours(access_log=True), ours=True),
    ]
    double = [
        Variant("baseline2", "aiohttp JSON echo (baseline)", 2, baseline("plain", workers=2)),
        Variant("ours2", "validator, access log off", 2, ours(access_log=False, workers=2), ours=True),
    ]
    return [single, double] if two_workers else [single]


def warm(server: Server, workers: int) -> None:
    """Cache every domain's MX: one batch per new connection, enough connections to reach each worker."""
    emails = [f"warm@d{i}.com" for i in range(DOMAINS)]
    for _ in range(1 if workers == 1 else 16 * workers):  # P(a worker is missed) = 2**-31 for two
        status, body = request(server.port, "POST", "/v1/validate/batch", {"emails": emails, "timeout_ms": 30000})
        statuses = {r["status"] for r in orjson.loads(body)["results"]} if status == 200 else {f"HTTP {status}"}
        if statuses != {"deliverable"}:
            raise RuntimeError(f"{server.name}: warm-up verdicts are {statuses}, not all deliverable")


def run(seconds: float, rounds: int, warmup_seconds: float, two_workers: bool, loadgen: str) -> Outcome:
    wrk, how = ensure_wrk() if loadgen in ("auto", "wrk") else (None, "the Python load generator was asked for")
    if wrk is None and loadgen == "wrk":
        raise RuntimeError(how)
    notes = [] if wrk else [f"LOAD GENERATOR: Python stand-in ({how}); it may saturate before the servers do."]
    groups = variants(two_workers)
    run_number = 0

    def load(variant: Variant, server: Server, secs: float, dns: DnsProcess) -> Load:
        nonlocal run_number
        run_number += 1
        cpus = LOAD_CPU if variant.workers == 1 else None
        before = dns.counts()
        start = run_number * RUN_STRIDE
        result = (run_wrk(wrk, server.port, secs, CONNECTIONS, start, DOMAINS, cpus) if wrk
                  else run_python(server.port, secs, CONNECTIONS, start, DOMAINS, cpus))
        variant.dns_queries += dns.counts().minus(before).total
        return result

    with DnsProcess(DOMAINS) as dns:
        for group in groups:
            servers: dict[str, Server] = {}
            try:
                for variant in group:
                    progress(f"http: starting {variant.label} ({variant.workers} process(es))")
                    servers[variant.key] = variant.make(free_port(), dns.nameserver).start()
                    if variant.ours:
                        warm(servers[variant.key], variant.workers)
                    load(variant, servers[variant.key], warmup_seconds, dns)
                    variant.dns_queries = 0
                for r in range(rounds):
                    for variant in group:
                        progress(f"http: round {r + 1}/{rounds}: {variant.label}, {variant.workers} process(es)")
                        variant.loads.append(load(variant, servers[variant.key], seconds, dns))
                if "ours" in servers:
                    notes.append(verdict_note(servers["ours"]))
            finally:
                for server in servers.values():
                    server.stop()
    return outcome(groups, seconds, rounds, notes)


def verdict_note(server: Server) -> str:
    counts = {k: int(v) for k, v in metric_values(server.port, "validator_verdicts_total").items() if v}
    return f"verdicts served by the 1-process validator (its /metrics, warm-up included): {counts}"


def outcome(groups: list[list[Variant]], seconds: float, rounds: int, notes: list[str]) -> Outcome:
    by_key = {v.key: v for group in groups for v in group}
    table = Table(
        f"HTTP: POST /v1/validate, {CONNECTIONS} connections, {rounds} x {seconds:g}s runs per server (medians)",
        ["Server", "Processes", "Requests/s", "Range", "p50", "p99", "vs baseline", "Errors", "DNS queries under load"],
    )
    for group in groups:
        base = group[0].median("requests_per_s")
        for v in group:
            rps = [load.requests_per_s for load in v.loads]
            table.rows.append([
                v.label, str(v.workers), rate(v.median("requests_per_s")), f"{min(rps):,.0f}-{max(rps):,.0f}",
                ms(v.median("p50_ms")), ms(v.median("p99_ms")), percent(v.median("requests_per_s") / base),
                str(sum(load.errors for load in v.loads)), str(v.dns_queries) if v.ours else "-",
            ])
    tool = groups[0][0].loads[0].tool if groups[0][0].loads else "?"
    table.notes += notes + [
        f"load: {tool}, 1 thread, {CONNECTIONS} connections; a new address per request, user<N>@d<N % {DOMAINS}>.com",
        "1 process: server on CPU 0, load generator on CPU 1; 2 processes: both share the 2 CPUs (noisier)",
    ]
    result = Outcome([table])
    ours1, base1 = by_key["ours"], by_key["baseline"]
    ratio = ours1.median("requests_per_s") / base1.median("requests_per_s")
    goal = "floor" if ratio >= 0.5 else "NO"
    result.summary += [
        ["HTTP req/s, 1 process", rate(ours1.median("requests_per_s")), rate(base1.median("requests_per_s")),
         percent(ratio), ">= 50% (aim 80%)", "yes" if ratio >= 0.8 else goal],
        ["HTTP p99 latency, 1 process", ms(ours1.median("p99_ms")), ms(base1.median("p99_ms")),
         times(ours1.median("p99_ms") / base1.median("p99_ms")), f"< {P99_GOAL_MS:g} ms",
         met(ours1.median("p99_ms") < P99_GOAL_MS)],
        ["HTTP req/s vs email-validator wrapper", rate(ours1.median("requests_per_s")),
         rate(by_key["wrapper"].median("requests_per_s")),
         percent(ours1.median("requests_per_s") / by_key["wrapper"].median("requests_per_s")), "-", "-"],
        ["HTTP req/s, access log on", rate(by_key["ours_log"].median("requests_per_s")),
         rate(base1.median("requests_per_s")),
         percent(by_key["ours_log"].median("requests_per_s") / base1.median("requests_per_s")), "-", "-"],
    ]
    if "ours2" in by_key:
        ours2, base2 = by_key["ours2"], by_key["baseline2"]
        ratio2 = ours2.median("requests_per_s") / base2.median("requests_per_s")
        result.summary.append(
            ["HTTP req/s, 2 processes", rate(ours2.median("requests_per_s")), rate(base2.median("requests_per_s")),
             percent(ratio2), ">= 50% (aim 80%)", "yes" if ratio2 >= 0.8 else ("floor" if ratio2 >= 0.5 else "NO")]
        )
    return result
