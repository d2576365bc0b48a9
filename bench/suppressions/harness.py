"""The servers under load and one run of load against one of them, shared by the lookup and validate parts.

Every server is a real ``validator serve`` process, configured by ``VALIDATOR_*`` variables, with
an API key, pinned to CPU 0 while the load generator runs on CPU 1. A run records requests/s,
latency, and CPU per request of the server and of every ``postgres`` process. The tables built
from these records live with their parts (``lookup``, ``validate``), not here.
"""

from __future__ import annotations

import asyncio
import collections
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from validator.store import open_store

from .. import http as http_bench
from ..databases import Databases
from ..loadgen import Load, load_of, run_validate_load, run_wrk_script
from ..report import median
from ..servers import HOST, Server, free_port, validator_command
from .seeding import DOMAINS

SERVER_CPU, LOAD_CPU = "0", "1"
LOOKUP_PATH = "/v1/suppressions/lookup"
LOOKUP_LUA = """
-- one thread (-t1): the pre-built bodies are cycled through, one per request
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
{headers}local bodies = {{
{bodies}
}}
local i = 0
request = function()
  i = i % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[i])
end
"""


async def _api_key(url: str) -> str:
    store = await open_store(url)
    try:
        _key, token = await store.create_api_key(f"bench-{secrets.token_hex(3)}", ["admin"])
    finally:
        await store.close()
    return token


def start_server(name: str, url: str, nameserver: str, cpus: str | None = SERVER_CPU) -> Server:
    """``validator serve`` on ``url`` as deployed (API key, access log off), started and healthy."""
    server = Server(name, [*validator_command(), "serve"], free_port(), cpus=cpus)
    server.env = {
        "VALIDATOR_HOST": HOST,
        "VALIDATOR_PORT": str(server.port),
        "VALIDATOR_DNS_NAMESERVERS": nameserver,
        "VALIDATOR_DATABASE_URL": url,
        "VALIDATOR_WORKERS": "1",
        "VALIDATOR_AUTH": "true",
        "VALIDATOR_ACCESS_LOG": "false",
        "VALIDATOR_LOG_LEVEL": "WARNING",
    }
    server.headers["Authorization"] = f"Bearer {asyncio.run(_api_key(url))}"
    return server.start()


def postgres_cpu_seconds() -> float:
    """CPU time used so far by every ``postgres`` process on this machine (the cluster is shared:
    other sessions' queries count too, and a backend that exits takes its time with it)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        comm, _, rest = text.partition(" (")[2].rpartition(")")
        if comm == "postgres":
            fields = rest.split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


@dataclass
class Subject:
    """One server under load: its table, and what each run measured."""

    key: str
    label: str
    backend: str  # "SQLite" | "PostgreSQL"
    rows: int
    url: str
    server: Server | None = None
    lookup_lua: str = ""
    loads: dict[str, list[Load]] = field(default_factory=lambda: collections.defaultdict(list))
    cpu_us: dict[str, list[float]] = field(default_factory=lambda: collections.defaultdict(list))
    pg_cpu_us: dict[str, list[float]] = field(default_factory=lambda: collections.defaultdict(list))

    def med(self, series: str, attribute: str) -> float:
        return median([getattr(load, attribute) for load in self.loads[series]])

    def pg_cpu_cell(self, series: str) -> str:
        """The PostgreSQL CPU/request column: the median, or "-" for SQLite."""
        return f"{median(self.pg_cpu_us[series]):,.0f} µs" if self.backend == "PostgreSQL" else "-"


def full_and_empty(subjects: list[Subject], backend: str) -> tuple[Subject | None, Subject | None]:
    """(full table, empty table) of one backend."""
    full = next((s for s in subjects if s.backend == backend and s.rows), None)
    empty = next((s for s in subjects if s.backend == backend and not s.rows), None)
    return full, empty


@dataclass
class Context:
    """One run's options and what its parts hand on to each other (notes, the check's cost)."""

    quick: bool
    rows: int
    seconds: float
    rounds: int
    wrk: str | None
    databases: Databases
    profile: Path | None
    notes: list[str] = field(default_factory=list)
    runs: int = 0
    check_alone_us: float | None = None  # the in-process cost of the check, for the HTTP share
    validate_cpu_us: float | None = None  # server CPU per POST /v1/validate, SQLite full table
    lookup_payloads: list[bytes] = field(default_factory=list)

    def load(self, subject: Subject, series: str, connections: int, seconds: float, record: bool = True) -> None:
        """One run of ``series`` ("lookup/8", "validate"...) against ``subject``'s server."""
        server = subject.server
        assert server is not None
        self.runs += 1
        cpu, pg = server.cpu_seconds(), postgres_cpu_seconds()
        if series.startswith("lookup"):
            if self.wrk:
                result = run_wrk_script(
                    self.wrk, server.port, LOOKUP_PATH, subject.lookup_lua, seconds, connections, LOAD_CPU, timeout_s=30
                )
            else:
                result = asyncio.run(
                    aiohttp_load(server.port, LOOKUP_PATH, self.lookup_payloads, server.headers, seconds, connections)
                )
        else:
            start = self.runs * http_bench.RUN_STRIDE
            result = run_validate_load(
                self.wrk, server.port, seconds, connections, start, DOMAINS, LOAD_CPU, server.headers
            )
        if not record:
            return
        requests = max(result.requests, 1)
        subject.cpu_us[series].append((server.cpu_seconds() - cpu) / requests * 1e6)
        subject.pg_cpu_us[series].append((postgres_cpu_seconds() - pg) / requests * 1e6)
        subject.loads[series].append(result)


async def aiohttp_load(
    port: int, path: str, bodies: list[bytes], headers: dict[str, str], seconds: float, connections: int
) -> Load:
    """The Python stand-in for wrk: ``connections`` aiohttp clients posting the bodies in turn."""
    latencies: list[float] = []
    errors, counter = [0], [0]
    deadline = time.perf_counter() + seconds
    url = f"http://{HOST}:{port}{path}"
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=connections), headers={**headers, "Content-Type": "application/json"}
    ) as session:

        async def client() -> None:
            while time.perf_counter() < deadline:
                body = bodies[counter[0] % len(bodies)]
                counter[0] += 1
                sent = time.perf_counter()
                async with session.post(url, data=body) as response:
                    await response.read()
                    errors[0] += response.status != 200
                latencies.append(time.perf_counter() - sent)

        began = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(connections)))
        elapsed = time.perf_counter() - began
    return load_of(latencies, elapsed, errors[0], "aiohttp")
