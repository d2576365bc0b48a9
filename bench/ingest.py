"""Benchmark of event ingestion through the API.

``python -m bench.ingest [--quick] [--markdown] [--events N] [--batch N] [--clients N]
[--backends sqlite,postgres]`` (``python -m bench ingest`` runs the full size). Contacts only 127.0.0.1.

N events (default 100,000; ``--quick`` 10,000) over N/5 addresses, the mix a sending platform
reports: 60% sent, 25% delivered, 10% soft bounces (over quota, a message id per send), 5% hard
bounces (550 5.1.1), as NDJSON bodies of ``--batch`` events (default 1,000) posted to
``POST /v1/events`` by ``--clients`` concurrent clients (default 4). Every event is planned and
committed before its answer (SQLite: ``synchronous=FULL``). Baseline, in the same run: a bare
aiohttp handler (``bench.baseline_app``) that only reads the body and decodes each line, so the
ratio is what the whole ingestion (classification, idempotency keys, streaks, suppressions and
durable commits) costs against decoding alone. Also: one event per request (no batching) over a
tenth of the events, to show what batching buys. Servers run pinned to CPU 0, the client on CPU 1.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import subprocess
import sys
import time

import aiohttp
import orjson

from .databases import pg_admin, postgres_url
from .report import Table, progress
from .servers import HOST, Server, free_port, validator_command


def make_events(count: int, seed: int = 5) -> list[bytes]:
    """NDJSON lines: the event mix of a real campaign, deterministic for a seed."""
    rng, lines = random.Random(seed), []
    addresses = max(count // 5, 1)
    for i in range(count):
        email = f"user{rng.randrange(addresses)}@d{rng.randrange(200)}.example"
        roll = rng.random()
        event: dict[str, object] = {
            "email": email,
            "timestamp": "2026-03-15T08:42:11Z",
            "campaign_id": f"c{i % 10}",
            "message_id": f"m{i}",
            "id": f"e{i}",
        }
        if roll < 0.60:
            event["event"] = "sent"
        elif roll < 0.85:
            event["event"] = "delivered"
        elif roll < 0.95:
            event.update(
                event="bounce",
                smtp_code=452,
                smtp_enhanced_code="4.2.2",
                smtp_message="The email account that you tried to reach is over quota",
            )
        else:
            event.update(
                event="bounce",
                smtp_code=550,
                smtp_enhanced_code="5.1.1",
                smtp_message="The email account that you tried to reach does not exist",
            )
        lines.append(orjson.dumps(event))
    return lines


async def post_all(port: int, bodies: list[bytes], clients: int, headers: dict[str, str]) -> float:
    """Seconds to post every body, ``clients`` at a time; any non-200 answer stops the run."""
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    url = f"http://{HOST}:{port}/v1/events"
    async with aiohttp.ClientSession(headers={**headers, "Content-Type": "application/x-ndjson"}) as session:

        async def client() -> None:
            while not queue.empty():
                body = queue.get_nowait()
                async with session.post(url, data=body) as response:
                    if response.status != 200:
                        raise RuntimeError(f"{response.status}: {(await response.text())[:300]}")
                    await response.read()

        began = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        return time.perf_counter() - began


def batches(lines: list[bytes], size: int) -> list[bytes]:
    return [b"\n".join(lines[i : i + size]) for i in range(0, len(lines), size)]


def our_server(url: str, name: str) -> Server:
    env = {"VALIDATOR_DATABASE_URL": url, "VALIDATOR_ACCESS_LOG": "false", "VALIDATOR_EVENTS_MAX": "100000"}
    server = Server(name, [*validator_command(), "serve", "--port", str(port := free_port())], port, env, cpus="0")
    token = subprocess.run(
        [*validator_command(), "keys", "create", "--name", "bench", "--scope", "admin"],
        env={**_env(), **env},
        cwd=server.workdir,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    server.headers = {"Authorization": f"Bearer {token}"}
    return server


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("VALIDATOR_")}


def measure(server: Server, lines: list[bytes], args: argparse.Namespace) -> tuple[float, float, float]:
    """(events/s batched, server CPU µs per event, events/s one per request)."""
    server.start()
    try:
        single = lines[: max(len(lines) // 10, 1)]
        bodies = batches(lines[len(single) :], args.batch)
        cpu0 = server.cpu_seconds()
        seconds = asyncio.run(post_all(server.port, bodies, args.clients, server.headers))
        cpu = server.cpu_seconds() - cpu0
        rest = len(lines) - len(single)
        one_by_one = asyncio.run(post_all(server.port, single, args.clients, server.headers))
        return rest / seconds, cpu / rest * 1e6, len(single) / one_by_one
    finally:
        server.stop()


def run(args: argparse.Namespace) -> list[Table]:
    lines = make_events(args.events)
    progress(f"{len(lines):,} events, batches of {args.batch}, {args.clients} clients")
    baseline = Server(
        "baseline",
        [sys.executable, "-m", "bench.baseline_app", "plain", "--port", str(port := free_port())],
        port,
        cpus="0",
    )
    base_rate, base_cpu, base_single = measure(baseline, lines, args)
    table = Table(
        f"Event ingestion through POST /v1/events ({len(lines):,} events, NDJSON batches of {args.batch}, "
        f"{args.clients} clients)",
        ["Server", "Events/s (batched)", "Server CPU µs/event", "Events/s (one per request)", "Batched vs baseline"],
    )
    table.rows.append(
        ["bare aiohttp, decode only (baseline)", f"{base_rate:,.0f}", f"{base_cpu:.1f}", f"{base_single:,.0f}", "1.00x"]
    )
    pg_names = []
    try:
        for backend in args.backends:
            if backend == "postgres":
                name = f"bench_ingest_{secrets.token_hex(4)}"
                asyncio.run(pg_admin(f'CREATE DATABASE "{name}"'))
                pg_names.append(name)
                url = postgres_url(name)
            else:
                url = "sqlite:///ingest.sqlite3"  # relative: inside the server's own work directory
            progress(f"ingesting into {backend}")
            rate, cpu, single = measure(our_server(url, f"ingest-{backend}"), lines, args)
            table.rows.append(
                [f"validator on {backend}", f"{rate:,.0f}", f"{cpu:.1f}", f"{single:,.0f}", f"{rate / base_rate:.2f}x"]
            )
    finally:
        for name in pg_names:
            asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    table.notes.append(
        "Every acknowledged batch is committed (one transaction per request: events, streaks, "
        "suppressions with audit rows); the first tenth of the events goes one per request."
    )
    return [table]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench ingest")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--events", type=int)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args(argv)
    args.events = args.events or (10_000 if args.quick else 100_000)
    args.backends = [b for b in args.backends.split(",") if b]
    for table in run(args):
        print(table.markdown() if args.markdown else table.text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
