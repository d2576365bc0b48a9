"""The benchmarks' mail domains, served by the tests' loopback DNS server from a child process.

Domain ``i`` is ``d<i>.com``: ``MX 10 mx.d<i>.com.`` and ``mx.d<i>.com A 8.8.x.y`` (globally
routable, so every generated address is deliverable; ``AAAA`` is NODATA). The server is
``tests/support/dnsserver.py``; it runs in a process of its own so that its Python work (dnspython
parses every query) never competes for the GIL of the code being measured, and it is asked
for its query counters over a pipe. It listens on 127.0.0.1 only.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import socket
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection

ZONE_TTL = 3600  # longer than any run, so no answer expires in the middle of a measurement
UDP_RECEIVE_BUFFER = 4 << 20  # bytes; the kernel caps it at net.core.rmem_max


def domain(i: int) -> str:
    return f"d{i}.com"


def varied_address(n: int, domains: int) -> str:
    """Address number ``n``: a local part never seen before, at one of ``domains`` domains."""
    return f"user{n}@d{n % domains}.com"


def shuffled_addresses(count: int, domains: int, seed: int = 2025) -> list[str]:
    """``count`` distinct addresses, each domain used equally often, in a fixed random order."""
    picks = [i % domains for i in range(count)]
    random.Random(seed).shuffle(picks)
    return [f"user{n}@{domain(d)}" for n, d in enumerate(picks)]


@dataclass(frozen=True)
class QueryCounts:
    """Queries the server received, by type (UDP and TCP together)."""

    by_type: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_type.values())

    def get(self, rdtype: str) -> int:
        return self.by_type.get(rdtype, 0)

    def minus(self, earlier: QueryCounts) -> QueryCounts:
        types = set(self.by_type) | set(earlier.by_type)
        return QueryCounts({t: self.get(t) - earlier.get(t) for t in types if self.get(t) != earlier.get(t)})

    def per_domain(self, domains: int) -> str:
        """``"3.00 (MX 1.00, A 1.00, AAAA 1.00)"``: queries per distinct domain."""
        parts = ", ".join(f"{t} {n / domains:.2f}" for t, n in sorted(self.by_type.items()))
        return f"{self.total / domains:.2f} ({parts})" if parts else "0.00"


class DnsProcess:
    """``with DnsProcess(1000) as dns: dns.nameserver, dns.counts()``: the zone, served in a child."""

    def __init__(self, domains: int, cpus: set[int] | None = None) -> None:
        self.domains, self.cpus = domains, cpus  # cpus: pin the server there (when the machine has them)
        self.host = "127.0.0.1"
        self.port = 0
        self._conn: Connection | None = None
        self._process: multiprocessing.process.BaseProcess | None = None

    @property
    def nameserver(self) -> str:
        return f"{self.host}:{self.port}"

    def __enter__(self) -> DnsProcess:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child, self.domains), name="bench-dns", daemon=True)
        self._process.start()
        if self.cpus and self._process.pid is not None and self.cpus <= os.sched_getaffinity(0):
            os.sched_setaffinity(self._process.pid, self.cpus)
        if not self._conn.poll(120):
            raise RuntimeError("the loopback DNS server did not start")
        self.port = self._conn.recv()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._conn is not None:
            self._conn.send(("stop",))
        if self._process is not None:
            self._process.join(10)
            if self._process.is_alive():
                self._process.kill()
        self._conn = self._process = None

    def counts(self) -> QueryCounts:
        return QueryCounts(self._ask("counts"))

    def cpu_seconds(self) -> float:
        """CPU time the server process has used so far (to see whether it was the bottleneck)."""
        return self._ask("cpu")

    def _ask(self, command: str) -> object:
        assert self._conn is not None, "use DnsProcess as a context manager"
        self._conn.send((command,))
        return self._conn.recv()


def _serve(conn: Connection, domains: int) -> None:
    from tests.support.dnsserver import DnsServer  # run from the repository root: tests/ is not installed

    class RoomyDnsServer(DnsServer):
        """A UDP receive buffer that holds a burst: a cold batch of 1,000 domains sends 1,000
        MX queries at once, more than the default 208 KiB holds, and the kernel drops the rest
        before the server sees them (the client then waits out its timeout to retry)."""

        async def _bind(self):  # type: ignore[no-untyped-def]
            udp, tcp = await super()._bind()
            udp.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_RECEIVE_BUFFER)
            return udp, tcp

    with RoomyDnsServer() as server:
        for i in range(domains):
            server.zone.mx(domain(i), 10, f"mx.{domain(i)}", ttl=ZONE_TTL)
            server.zone.a(f"mx.{domain(i)}", f"8.8.{i // 250 % 250}.{i % 250 + 1}", ttl=ZONE_TTL)
        conn.send(server.address[1])
        while True:
            (command,) = conn.recv()
            if command == "stop":
                return
            if command == "counts":
                by_type = {t: server.count(rdtype=t) for t in ("MX", "A", "AAAA")}
                by_type["other"] = server.count() - sum(by_type.values())
                conn.send({t: n for t, n in by_type.items() if n})
            elif command == "cpu":
                conn.send(time.process_time())
