"""``python -m bench.stalled [--connections 300] [--body-bytes 1000000] [--idle-timeout 10]``: stalled uploads.

Starts ``validator serve`` (loopback, a temporary SQLite file), opens N connections that each send
the head of ``POST /v1/validate`` with a ``Content-Length`` of ``--body-bytes`` and all of the body
but one KB, then nothing. Prints the service's resident memory idle, at the peak and after the
answers, the answers' status lines, and how long they took. A baseline in the same run uses an
idle timeout longer than the measurement (the service as it was without the guard).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

RSS_SAMPLE_SECONDS = 0.2


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        kb = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    return kb / 1024


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _stall(port: int, body_bytes: int, opened: asyncio.Event) -> tuple[str, float]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        f"POST /v1/validate HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
        f"Content-Length: {body_bytes}\r\n\r\n"
    ).encode()
    writer.write(head + b" " * (body_bytes - 1024))
    await writer.drain()
    opened.set()
    started = time.monotonic()
    try:
        answer = await reader.read()
        return (answer.split(b"\r\n", 1)[0].decode() or "closed without an answer"), time.monotonic() - started
    except ConnectionError as exc:
        return f"reset: {exc}", time.monotonic() - started
    finally:
        writer.close()


async def _run(port: int, pid: int, connections: int, body_bytes: int, wait: float) -> dict[str, object]:
    idle = _rss_mb(pid)
    peak = [idle]

    async def sample() -> None:
        while True:
            peak[0] = max(peak[0], _rss_mb(pid))
            await asyncio.sleep(RSS_SAMPLE_SECONDS)

    sampler = asyncio.create_task(sample())
    events = [asyncio.Event() for _ in range(connections)]
    tasks = [asyncio.create_task(_stall(port, body_bytes, event)) for event in events]
    done, pending = await asyncio.wait(tasks, timeout=wait)
    after = _rss_mb(pid)
    sampler.cancel()
    for task in pending:
        task.cancel()
    answers = collections.Counter(task.result()[0] for task in done)
    answers["still open"] = len(pending)
    slowest = max((task.result()[1] for task in done), default=None)
    return {"idle": idle, "peak": peak[0], "after": after, "answers": dict(answers), "slowest": slowest}


def _serve(idle_timeout: float, workdir: str) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VALIDATOR_")}
    env.update(
        {
            "VALIDATOR_DATABASE_URL": f"sqlite:///{workdir}/v.sqlite3",
            "VALIDATOR_AUTH": "false",
            "VALIDATOR_BODY_IDLE_TIMEOUT": str(idle_timeout),
            "VALIDATOR_ACCESS_LOG": "false",
            "VALIDATOR_DNS_NAMESERVERS": "127.0.0.1:9",
        }
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "validator", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return process, port
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("validator serve did not start")


def measure(idle_timeout: float, connections: int, body_bytes: int, wait: float) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as workdir:
        process, port = _serve(idle_timeout, workdir)
        try:
            return asyncio.run(_run(port, process.pid, connections, body_bytes, wait))
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stalled", description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=300)
    parser.add_argument("--body-bytes", type=int, default=1_000_000)
    parser.add_argument("--idle-timeout", type=float, default=10.0, help="VALIDATOR_BODY_IDLE_TIMEOUT of the run")
    args = parser.parse_args(argv)
    wait = args.idle_timeout * 3 + 10
    rows = [("guard", args.idle_timeout), ("baseline: no timeout in reach", 3600.0)]
    print("| run | RSS idle MB | RSS peak MB | RSS after MB | answers | slowest answer s |")
    print("|---|---|---|---|---|---|")
    for name, timeout in rows:
        print(f"running {name} ...", file=sys.stderr)
        result = measure(timeout, args.connections, args.body_bytes, wait)
        slowest = f"{result['slowest']:.1f}" if result["slowest"] is not None else "-"
        print(
            f"| {name} | {result['idle']:.0f} | {result['peak']:.0f} | {result['after']:.0f} | "
            f"{result['answers']} | {slowest} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
