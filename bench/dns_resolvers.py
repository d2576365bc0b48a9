"""MX queries/s on loopback: aiodns (c-ares) against dnspython's asyncio resolver, then MxResolver.

Run ``python -m bench.dns_resolvers``. The DNS server is ``tests/support/dnsserver.py`` in a child
process (so it does not share the client's GIL), listening on 127.0.0.1 only. Every figure is
checked against the server's own query count, so a cache answering in the client cannot
inflate a rate. Nothing here is imported by ``validator``.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import sys
import time
from collections.abc import Awaitable, Callable, Iterable
from multiprocessing.connection import Connection
from pathlib import Path

import aiodns
import dns.asyncresolver

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.support.dnsserver import DnsServer  # noqa: E402
from validator.config import Settings  # noqa: E402
from validator.mx import MxResolver  # noqa: E402

Record = tuple[str, str, str, int]


def _serve(records: list[Record], conn: Connection) -> None:
    """Child process: serve ``records`` and answer "count" / "reset" / "stop" over ``conn``."""
    with DnsServer() as server:
        for name, rdtype, value, ttl in records:
            server.zone.add(name, rdtype, value, ttl)
        conn.send(server.address)
        while True:
            command = conn.recv()
            if command == "count":
                conn.send(server.count())
            elif command == "reset":
                server.reset_counts()
                conn.send(None)
            else:
                return


class ServerProcess:
    """A DNS server in a child process, with its query counter reachable over a pipe."""

    def __init__(self, records: list[Record]) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(target=_serve, args=(records, child), daemon=True)
        self._process.start()
        self.address: tuple[str, int] = self._conn.recv()

    def count(self) -> int:
        self._conn.send("count")
        return int(self._conn.recv())

    def reset(self) -> None:
        self._conn.send("reset")
        self._conn.recv()

    def stop(self) -> None:
        self._conn.send("stop")
        self._process.join(10)


async def _drive(query: Callable[[str], Awaitable[object]], names: list[str], concurrency: int) -> tuple[float, float]:
    """Run one query per name with ``concurrency`` in flight; return (wall, CPU) seconds taken.

    CPU time is this process's (the event loop and c-ares's thread): on a shared machine it
    moves less than wall time does.
    """
    queue = iter(names)

    async def worker() -> None:
        for name in queue:
            await query(name)

    start, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - start, time.process_time() - cpu


async def compare_resolvers(server: ServerProcess, names: list[str], concurrency: int, rounds: int) -> None:
    ip, port = server.address
    c_ares = aiodns.DNSResolver(nameservers=[f"{ip}:{port}"], timeout=2.0, tries=2)
    python = dns.asyncresolver.Resolver(configure=False)
    python.nameservers = [ip]
    python.port = port
    python.lifetime = 4.0

    async def ask_c_ares(name: str) -> object:
        return await c_ares.query_dns(name, "MX")

    async def ask_python(name: str) -> object:
        return await python.resolve(name, "MX")

    best: dict[str, float] = {}
    cpu: dict[str, float] = {}
    for _ in range(rounds):  # alternate, so neither gets a warmer machine
        for label, ask in (("aiodns", ask_c_ares), ("dnspython", ask_python)):
            server.reset()
            seconds, cpu_seconds = await _drive(ask, names, concurrency)
            reached = server.count()
            if reached != len(names):
                raise SystemExit(f"{label}: {reached} queries reached the server for {len(names)} asked")
            if len(names) / seconds > best.get(label, 0.0):
                best[label], cpu[label] = len(names) / seconds, cpu_seconds / len(names) * 1e6
    await c_ares.close()
    print(f"MX queries/s, {len(names)} queries, {concurrency} in flight, best of {rounds} (all reached the server):")
    for label, rate in best.items():
        print(f"  {label:10s} {rate:10,.0f}/s   {cpu[label]:6.0f} µs client CPU per query")
    print(f"  ratio aiodns/dnspython: {best['aiodns'] / best['dnspython']:.1f}x")


async def cold_lookups(server: ServerProcess, domains: list[str], concurrency: int) -> None:
    settings = Settings(dns_nameservers=(server.address,), dns_timeout=2.0, dns_tries=2)
    # A first resolver warms the *server* (it memoises rendered answers; dnspython renders
    # ~3k answers/s, which would otherwise be the figure measured). The measured one is cold.
    warm_up = MxResolver(settings)
    await _drive(warm_up.lookup, domains, concurrency)
    await warm_up.close()
    resolver = MxResolver(settings)
    server.reset()
    seconds, cpu_seconds = await _drive(resolver.lookup, domains, concurrency)
    reached = server.count()
    answered = sum(1 for d in domains if (a := resolver.cached(d)) is not None and a.hosts and a.hosts[0].routable)
    print(f"MxResolver, {len(domains)} distinct domains, cold, {concurrency} in flight:")
    print(
        f"  {len(domains) / seconds:10,.0f} lookups/s, {cpu_seconds / len(domains) * 1e6:.0f} µs client CPU per lookup "
        f"({answered} answered with a routable MX)"
    )
    print(
        f"  {reached / len(domains):.2f} queries at the server per domain, "
        f"{resolver.stats.queries_sent / len(domains):.2f} handed to c-ares per domain"
    )
    start = time.perf_counter()
    for domain in domains:
        await resolver.lookup(domain)
    warm = time.perf_counter() - start
    start = time.perf_counter()
    for domain in domains:
        resolver.cached(domain)
    probe = time.perf_counter() - start
    print(
        f"  warm: {len(domains) / warm:10,.0f} lookups/s via await lookup(), "
        f"{len(domains) / probe:10,.0f}/s via cached(); {server.count() - reached} more queries"
    )
    await resolver.close()


def zone(names: Iterable[str], domains: Iterable[str], providers: int) -> list[Record]:
    # TTL 0: c-ares may not answer a repeat from its cache, so every query reaches the server
    records: list[Record] = [(name, "MX", "10 mx.bench.test.", 0) for name in names]
    for i, domain in enumerate(domains):
        records.append((domain, "MX", f"10 mx{i % providers}.provider.test.", 300))
    for j in range(providers):
        records.append((f"mx{j}.provider.test", "A", f"8.8.{j // 250}.{j % 250 + 1}", 300))
        records.append((f"mx{j}.provider.test", "AAAA", f"2001:4860::{j + 1:x}", 300))
    return records


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--names", type=int, default=1_000, help="distinct names the queries cycle over")
    parser.add_argument("--domains", type=int, default=5_000, help="distinct domains for the cold MxResolver run")
    parser.add_argument("--providers", type=int, default=50, help="MX hosts the domains share")
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    names = [f"q{i}.bench.test" for i in range(args.names)]
    queries = [names[i % len(names)] for i in range(args.queries)]
    domains = [f"d{i}.cold.test" for i in range(args.domains)]
    print(f"machine: {os.cpu_count()} CPUs, 1-minute load average {os.getloadavg()[0]:.1f} before the run")
    server = ServerProcess(zone(names, domains, args.providers))
    try:
        asyncio.run(compare_resolvers(server, queries, args.concurrency, args.rounds))
        asyncio.run(cold_lookups(server, domains, args.concurrency))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
