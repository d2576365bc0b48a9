"""Benchmark 3: a cold batch through ``Checker.check_many``, against email-validator's own DNS check.

Ours: the in-process Checker path (not the HTTP batch endpoint): the service's own Checker
(``bench/service.py``), made anew for each row so its MX cache is cold (its start-up is in
the time), pointed at the loopback DNS server; 100,000 distinct addresses over 5,000 domains
in a fixed random order, in chunks of 1,000 (the API's batch limit), ``timeout_ms`` 30,000
so the figure is throughput rather than deadline behaviour (verdict statuses are reported).
Queries per distinct domain come from the DNS server's own counters: above 1.00 per type
means retries (c-ares retransmits when an answer is slower than it expects). Every run is made
twice: against the Python test server and against NSD (``bench/nsd.py``), a real authoritative
server in C, so that the figure is the service's own rather than the fixture's.

email-validator (``check_deliverability=True``) is synchronous, so it gets the first few
thousand addresses, with a ``dns.resolver.Resolver(configure=False)`` whose only nameserver
is the loopback server (``/etc/resolv.conf`` is never read), as shipped (no cache) and with
dnspython's LRU cache (``email_validator.caching_resolver``). Ours runs the same subset cold
again for a like-for-like ratio. Note the work differs: email-validator stops at the MX
records; ours also resolves each MX host's A and AAAA to judge routability.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import dns.resolver
from email_validator import EmailNotValidError, caching_resolver, validate_email

from .dnsfixture import DnsProcess, QueryCounts, shuffled_addresses
from .nsd import NsdProcess, find_nsd
from .report import Outcome, Table, met, progress, rate, times
from .service import service_checker

CHUNK = 1000


@dataclasses.dataclass
class Run:
    label: str
    addresses: int
    domains: int
    seconds: float
    queries: QueryCounts
    statuses: dict[str, int]
    dns_cpu: float  # CPU seconds the DNS server spent meanwhile
    udp_drops: int  # datagrams the kernel dropped for want of receive buffer meanwhile (any socket)

    @property
    def rate(self) -> float:
        return self.addresses / self.seconds

    def row(self) -> list[str]:
        statuses = ", ".join(f"{k} {v:,}" for k, v in sorted(self.statuses.items()))
        return [
            self.label,
            f"{self.addresses:,}",
            f"{self.domains:,}",
            f"{self.seconds:.2f} s",
            rate(self.rate),
            self.queries.per_domain(self.domains),
            f"{self.dns_cpu:.2f} s",
            f"{self.udp_drops:,}",
            statuses,
        ]


def run(addresses: int, domains: int, subset: int) -> Outcome:
    """The same rows against the Python test server and against NSD (installed if missing)."""
    emails = shuffled_addresses(addresses, domains)
    results: list[tuple[str, list[Run]]] = []
    with DnsProcess(domains) as server:
        results.append(("Python test server", _runs(server, emails, domains, subset)))
    binary, how = find_nsd()
    notes = [] if binary else [f"NSD NOT MEASURED: {how}"]
    if binary is not None:
        with NsdProcess(binary, domains) as server:
            results.append(("NSD", _runs(server, emails, domains, subset)))
    return _outcome(results, notes)


def _runs(server: DnsProcess | NsdProcess, emails: list[str], domains: int, subset: int) -> list[Run]:
    """Ours over every row; then ours and email-validator (plain, cached) over the first ``subset``."""
    head = emails[:subset]
    head_domains = len({e.partition("@")[2] for e in head})
    name = type(server).__name__
    progress(f"batch ({name}): ours, {len(emails):,} addresses over {domains:,} domains, cold")
    full = _measure(
        server,
        f"validator Checker.check_many, chunks of {CHUNK:,}",
        emails,
        domains,
        lambda: asyncio.run(_check_all(server, emails)),
    )
    progress(f"batch ({name}): ours, first {subset:,} addresses, cold")
    ours = _measure(
        server,
        "validator Checker.check_many, same subset",
        head,
        head_domains,
        lambda: asyncio.run(_check_all(server, head)),
    )
    progress(f"batch ({name}): email-validator, first {subset:,} addresses, no cache")
    plain = _measure(
        server,
        "email-validator, Resolver(configure=False)",
        head,
        head_domains,
        lambda: _email_validator(server, head, cache=False),
    )
    progress(f"batch ({name}): email-validator, first {subset:,} addresses, LRU cache")
    cached = _measure(
        server,
        "email-validator, caching_resolver",
        head,
        head_domains,
        lambda: _email_validator(server, head, cache=True),
    )
    return [full, ours, plain, cached]


def _measure(
    server: DnsProcess | NsdProcess, label: str, emails: list[str], domains: int, work: Callable[[], dict[str, int]]
) -> Run:
    queries, cpu, drops = server.counts(), server.cpu_seconds(), _udp_receive_buffer_errors()
    began = time.perf_counter()
    statuses = work()
    seconds = time.perf_counter() - began
    return Run(
        label,
        len(emails),
        domains,
        seconds,
        server.counts().minus(queries),
        statuses,
        server.cpu_seconds() - cpu,
        _udp_receive_buffer_errors() - drops,
    )


def _udp_receive_buffer_errors() -> int:
    """The kernel's count of UDP datagrams dropped on full receive buffers: queries a server never
    saw (its counters miss them) and that cost the client a timeout."""
    header, values = [
        line.split() for line in Path("/proc/net/snmp").read_text().splitlines() if line.startswith("Udp:")
    ][:2]
    return int(values[header.index("RcvbufErrors")])


async def _check_all(server: DnsProcess | NsdProcess, emails: list[str]) -> dict[str, int]:
    statuses: Counter[str] = Counter()
    # a new service each time: a cold MX cache and a new c-ares channel
    async with service_checker(server.host, server.port) as (checker, _resolver, _store):
        for i in range(0, len(emails), CHUNK):
            verdicts = await checker.check_many(emails[i : i + CHUNK], timeout_ms=30000)
            statuses.update(v.status.value for v in verdicts)
    return dict(statuses)


def _email_validator(server: DnsProcess | NsdProcess, emails: list[str], cache: bool) -> dict[str, int]:
    resolver = dns.resolver.Resolver(configure=False)  # never reads /etc/resolv.conf
    resolver.nameservers = [server.host]
    resolver.port = server.port
    resolver.lifetime = 5.0
    if cache:
        resolver = caching_resolver(timeout=5, dns_resolver=resolver)
    statuses: Counter[str] = Counter()
    for email in emails:
        try:
            info = validate_email(email, check_deliverability=True, dns_resolver=resolver)
        except EmailNotValidError:
            statuses["undeliverable"] += 1
            continue
        # on a timeout or SERVFAIL email-validator accepts the address but sets no MX list
        statuses["deliverable" if getattr(info, "mx", None) else "unknown"] += 1
    return dict(statuses)


def _outcome(results: list[tuple[str, list[Run]]], notes: list[str]) -> Outcome:
    table = Table(
        "Cold batch: addresses/s and DNS queries per distinct domain",
        [
            "DNS server",
            "Path",
            "Addresses",
            "Domains",
            "Time",
            "Addresses/s",
            "Queries per domain",
            "DNS server CPU",
            "UDP drops",
            "Verdicts",
        ],
        [[server, *run.row()] for server, runs in results for run in runs],
        notes
        + [
            "ours = the service's own Checker, in process (not the HTTP batch endpoint), made anew per row (cold)",
            "ours resolves MX, then A and AAAA of each MX host (routability); email-validator stops at MX",
            "queries per domain above 1.00 for a type are retries: the server saw the same question again",
            "Python test server: tests/support/dnsserver.py (dnspython, one process), which can be the bottleneck; "
            "NSD: Debian's nsd, one server process, the same zone (bench/nsd.py)",
        ],
    )
    summary = []
    for server, (full, ours, plain, _cached) in results:
        per_type_ok = all(full.queries.get(t) <= full.domains for t in ("MX", "A", "AAAA"))
        summary += [
            [
                f"Cold batch {full.addresses:,} addresses / {full.domains:,} domains, {server}",
                rate(full.rate),
                "-",
                "-",
                "-",
                "-",
            ],
            [
                f"DNS queries per domain (cold batch, {server})",
                full.queries.per_domain(full.domains),
                "email-validator: " + plain.queries.per_domain(plain.domains),
                "-",
                "one set (MX, A, AAAA) per domain",
                met(per_type_ok),
            ],
            [
                f"Cold {ours.addresses:,}-address subset vs email-validator, {server}",
                rate(ours.rate),
                rate(plain.rate),
                times(ours.rate / plain.rate) + " faster",
                "-",
                "-",
            ],
        ]
    return Outcome([table], summary)
