"""Part 3, import: one CSV file of N rows streamed to ``POST /v1/suppressions/import`` from an async
generator (aiohttp sends it chunked; the client never holds it), and the same file through
``validator suppress import``, each into an empty store.

Rows/s, CPU per row, and peak RSS: the server's VmHWM (and VmRSS sampled every 50 ms), the CLI's
maximum resident size from ``/usr/bin/time`` (and its VmHWM polled every 50 ms). PostgreSQL
imports are opt-in (``--import-backends sqlite,postgres``): they add ~5 minutes.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import orjson

from ..report import Table, met, percent, progress, rate, times
from ..servers import HOST, Server, pinned, proc_status_kib, validator_command, validator_env
from .harness import SERVER_CPU, Context, start_server
from .seeding import write_csv

RSS_GOAL_MB = 200
TIME = "/usr/bin/time"  # GNU time: the CLI's peak RSS (%M) and CPU


@dataclass
class ImportRun:
    path: str
    backend: str
    seconds: float
    cpu_seconds: float
    peak_kib: int  # VmHWM of the server, ru_maxrss of the CLI
    start_kib: int | None = None  # the server's VmRSS before the import
    sampled_kib: int | None = None  # the highest VmRSS sampled during the import


async def stream_import(server: Server, csv_path: Path, rows: int) -> tuple[float, int]:
    """POST the file to /v1/suppressions/import chunked from an async generator; (seconds, sampled peak VmRSS)."""
    assert server.process is not None
    pid, peak, done = server.process.pid, [0], asyncio.Event()

    async def body() -> AsyncIterator[bytes]:
        with csv_path.open("rb") as source:
            while chunk := source.read(1 << 16):
                yield chunk

    async def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], proc_status_kib(pid, "VmRSS"))
            try:
                await asyncio.wait_for(done.wait(), 0.05)
            except TimeoutError:
                pass

    sampler = asyncio.ensure_future(sample())
    url = f"http://{HOST}:{server.port}/v1/suppressions/import?source=bench-import&why=bench"
    began = time.perf_counter()
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None)) as session,
            session.post(url, data=body(), headers={**server.headers, "Content-Type": "text/csv"}) as response,
        ):
            payload = await response.read()
    finally:
        done.set()
        await sampler
    elapsed = time.perf_counter() - began
    if response.status != 200:
        raise RuntimeError(f"import answered {response.status}: {payload[:300]!r}\n{server.log_tail()}")
    totals = orjson.loads(payload)
    if totals["added"] != rows or totals["invalid"]:
        raise RuntimeError(f"import answered {totals}; expected {rows:,} added")
    return elapsed, peak[0]


def import_api(backend: str, url: str, csv_path: Path, rows: int, nameserver: str) -> ImportRun:
    server = start_server(f"import-{backend.lower()}", url, nameserver)
    try:
        start_kib, cpu = server.memory_kib("VmRSS"), server.cpu_seconds()
        seconds, sampled = asyncio.run(stream_import(server, csv_path, rows))
        return ImportRun(
            "POST /v1/suppressions/import",
            backend,
            seconds,
            server.cpu_seconds() - cpu,
            server.memory_kib("VmHWM"),
            start_kib,
            sampled,
        )
    finally:
        server.stop()


def import_cli(ctx: Context, backend: str, url: str, csv_path: Path, rows: int) -> ImportRun:
    """``validator suppress import FILE`` under ``/usr/bin/time``: its peak RSS and CPU.

    Not ``wait4`` on our own child: ``ru_maxrss`` survives ``exec``, so a child forked from this
    (large) bench process would report our size. ``time`` is small, and forks the CLI itself.
    VmHWM is also polled, as a cross-check and for machines without ``/usr/bin/time``.
    """
    env = validator_env({"VALIDATOR_DATABASE_URL": url, "VALIDATOR_LOG_LEVEL": "WARNING"})
    argv = pinned(
        [*validator_command(), "suppress", "import", str(csv_path), "--source", "bench-import", "--why", "bench"],
        SERVER_CPU,
    )
    usage = ctx.databases.workdir / f"cli-import-{backend.lower()}.time"
    if Path(TIME).exists():
        argv = [TIME, "-f", "%M %U %S", "-o", str(usage), *argv]
    log = ctx.databases.workdir / f"cli-import-{backend.lower()}.log"
    polled = 0
    with log.open("wb") as err:
        began = time.perf_counter()
        process = subprocess.Popen(
            argv, env=env, cwd=ctx.databases.workdir, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err
        )
        while process.poll() is None:
            for child in _descendants(process.pid):
                polled = max(polled, proc_status_kib(child, "VmHWM"))
            time.sleep(0.05)
        elapsed = time.perf_counter() - began
    output = log.read_text(errors="replace")
    if process.returncode != 0 or f"added {rows}," not in output:
        raise RuntimeError(f"validator suppress import exited {process.returncode}: {output[-500:]}")
    if usage.exists():
        peak, user, system = usage.read_text().split()[-3:]
        return ImportRun(
            "validator suppress import (CLI)",
            backend,
            elapsed,
            float(user) + float(system),
            int(peak),
            sampled_kib=polled,
        )
    return ImportRun("validator suppress import (CLI)", backend, elapsed, float("nan"), polled, sampled_kib=polled)


def _descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (the CLI under ``time`` under nothing else)."""
    found, frontier = [pid], [pid]
    while frontier:
        parent = frontier.pop()
        try:
            children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
        except OSError:
            continue
        found += map(int, children)
        frontier += map(int, children)
    return found


def import_part(ctx: Context, backends: list[str], nameserver: str) -> tuple[list[Table], list[list[str]]]:
    rows = ctx.rows
    csv_path = ctx.databases.workdir / "import.csv"
    progress(f"suppressions: writing a {rows:,}-row CSV file")
    write_csv(csv_path, rows)
    size_mb = csv_path.stat().st_size / 1e6
    runs: list[ImportRun] = []
    for backend in backends:
        name = "SQLite" if backend == "sqlite" else "PostgreSQL"
        url = ctx.databases.sqlite("import-api") if backend == "sqlite" else ctx.databases.postgres()
        progress(f"suppressions: importing {rows:,} rows through the API into {name}")
        runs.append(import_api(name, url, csv_path, rows, nameserver))
        url = ctx.databases.sqlite("import-cli") if backend == "sqlite" else ctx.databases.postgres()
        progress(f"suppressions: importing {rows:,} rows through the CLI into {name}")
        runs.append(import_cli(ctx, name, url, csv_path, rows))
    csv_path.unlink()
    return [_import_table(runs, rows, size_mb)], _summary_rows(runs, rows)


def _import_table(runs: list[ImportRun], rows: int, size_mb: float) -> Table:
    table = Table(
        f"Import of {rows:,} rows ({size_mb:.0f} MB of CSV) into an empty store",
        ["Path", "Store", "Seconds", "Rows/s", "vs CLI", "CPU/row", "Peak RSS", "RSS before", "Sampled peak RSS"],
    )
    for run in runs:
        cli = _cli_run(runs, run.backend)
        table.rows.append(
            [
                run.path,
                run.backend,
                f"{run.seconds:.1f}",
                rate(rows / run.seconds),
                percent(cli.seconds / run.seconds) if run is not cli else "-",
                f"{run.cpu_seconds / rows * 1e6:.0f} µs",
                f"{run.peak_kib / 1024:.0f} MB",
                f"{run.start_kib / 1024:.0f} MB" if run.start_kib else "-",
                f"{run.sampled_kib / 1024:.0f} MB" if run.sampled_kib else "-",
            ]
        )
    table.notes += [
        "API: aiohttp client streaming the file from an async generator (64 KiB reads, chunked transfer "
        f"encoding) to a server pinned to CPU {SERVER_CPU}; the CLI is pinned to the same CPU",
        "peak RSS: the server's VmHWM (its whole life, start-up included) and the CLI's maximum resident size "
        "by /usr/bin/time (%M); RSS before: the server's VmRSS just before the upload; sampled: the highest "
        "VmRSS (server) or VmHWM (CLI) seen every 50 ms",
        "CPU/row: user+system time of the server (or CLI) process only; with PostgreSQL the database's own "
        "work is not included",
    ]
    return table


def _cli_run(runs: list[ImportRun], backend: str) -> ImportRun:
    """The CLI's run into ``backend``: the reference of the API's (only a server has an RSS before)."""
    return next(r for r in runs if r.backend == backend and r.start_kib is None)


def _summary_rows(runs: list[ImportRun], rows: int) -> list[list[str]]:
    """The API's server peak RSS against the goal, and its rows/s, each against the CLI's."""
    summary = []
    for run in runs:
        cli = _cli_run(runs, run.backend)
        if run is cli:
            continue
        summary.append(
            [
                f"Import {rows:,} rows via API, {run.backend}: server peak RSS (vs CLI)",
                f"{run.peak_kib / 1024:.0f} MB",
                f"{cli.peak_kib / 1024:.0f} MB",
                times(run.peak_kib / cli.peak_kib),
                f"< {RSS_GOAL_MB} MB",
                met(run.peak_kib / 1024 < RSS_GOAL_MB),
            ]
        )
        summary.append(
            [
                f"Import {rows:,} rows via API, {run.backend}: rows/s (vs CLI)",
                rate(rows / run.seconds),
                rate(rows / cli.seconds),
                percent(cli.seconds / run.seconds),
                "-",
                "-",
            ]
        )
    return summary
