"""Load generation for the HTTP benchmark: ``wrk`` with a Lua script, or a Python stand-in.

Every request body carries a different address, ``user<N>@d<N % domains>.com`` with ``N``
counting up from a per-run start, so no per-address answer cache can carry a server. wrk is
Debian's package; ``ensure_wrk`` installs it when it is missing and we are root. Without it
the Python generator (``python -m bench.loadgen``, one process, asyncio over raw sockets) is
used instead, and said so: it is much slower than wrk and may be the bottleneck itself.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

from .servers import HOST, pinned

PATH = "/v1/validate"

LUA = """
-- one thread (-t1), so this counter is global: a new address on every request
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
{headers}local n = {start}
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, string.format('{{"email":"user%d@d%d.com"}}', n, n % {domains}))
end
"""


@dataclass(frozen=True)
class Load:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # non-2xx answers plus socket errors
    tool: str


def load_of(latencies: list[float], elapsed: float, errors: int, tool: str) -> Load:
    """The ``Load`` of a run whose answered requests took ``latencies`` (seconds, in any order) over
    ``elapsed`` seconds: shared by the Python stand-in and any other client a benchmark drives."""
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000 if ordered else float("nan")

    return Load(len(ordered) / elapsed, pct(0.50), pct(0.99), len(ordered), errors, tool)


def ensure_wrk() -> tuple[str | None, str]:
    """The path of wrk, installing Debian's package if missing (as root); else None and why."""
    found = shutil.which("wrk")
    if found:
        return found, "wrk"
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return None, "wrk is not installed and cannot be installed here (needs root and apt-get)"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env}
    print("[bench] installing wrk: apt-get install -y wrk", file=sys.stderr, flush=True)
    if subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], **quiet).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], **quiet)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], **quiet)
    found = shutil.which("wrk")
    return (found, "wrk") if found else (None, "apt-get install wrk failed")


def lua_headers(headers: dict[str, str]) -> str:
    """Lua lines setting ``headers`` on every request of a wrk script."""
    return "".join(f'wrk.headers["{k}"] = "{v}"\n' for k, v in headers.items())


def run_wrk(
    wrk: str,
    port: int,
    seconds: float,
    connections: int,
    start: int,
    domains: int,
    cpus: str | None,
    headers: dict[str, str],
) -> Load:
    script = LUA.format(start=start, domains=domains, headers=lua_headers(headers))
    return run_wrk_script(wrk, port, PATH, script, seconds, connections, cpus)


def run_wrk_script(
    wrk: str,
    port: int,
    path: str,
    script: str,
    seconds: float,
    connections: int,
    cpus: str | None,
    timeout_s: float | None = None,
) -> Load:
    """wrk -t1 with a Lua ``script`` (its own method, headers and bodies) against ``path`` on loopback."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as file:
        file.write(script)
    try:
        argv = [
            wrk,
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--latency",
            "-s",
            file.name,
            *([f"--timeout={timeout_s:g}s"] if timeout_s else []),
            f"http://{HOST}:{port}{path}",
        ]
        done = subprocess.run(pinned(argv, cpus), capture_output=True, text=True, timeout=seconds + 60)
    finally:
        Path(file.name).unlink()
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return parse_wrk(done.stdout)


def parse_wrk(output: str) -> Load:
    def latency(label: str) -> float:
        match = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
        if match is None:
            raise ValueError(f"no {label}% latency line in wrk output:\n{output}")
        return float(match[1]) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[match[2]]

    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    total = re.search(r"^\s*(\d+) requests in", output, re.MULTILINE)
    if rps is None or total is None:
        raise ValueError(f"no Requests/sec line in wrk output:\n{output}")
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    errors = (int(non2xx[1]) if non2xx else 0) + (sum(int(g) for g in sockets.groups()) if sockets else 0)
    return Load(float(rps[1]), latency("50"), latency("99"), int(total[1]), errors, "wrk")


def run_validate_load(
    wrk: str | None,
    port: int,
    seconds: float,
    connections: int,
    start: int,
    domains: int,
    cpus: str | None,
    headers: dict[str, str],
) -> Load:
    """One run of ``POST /v1/validate`` load: wrk when there is one, else the Python stand-in."""
    if wrk:
        return run_wrk(wrk, port, seconds, connections, start, domains, cpus, headers)
    return run_python(port, seconds, connections, start, domains, cpus, headers)


def run_python(
    port: int, seconds: float, connections: int, start: int, domains: int, cpus: str | None, headers: dict[str, str]
) -> Load:
    argv = [
        sys.executable,
        "-m",
        "bench.loadgen",
        "--port",
        str(port),
        "--seconds",
        str(seconds),
        "--connections",
        str(connections),
        "--start",
        str(start),
        "--domains",
        str(domains),
        *(arg for k, v in headers.items() for arg in ("--header", f"{k}: {v}")),
    ]
    done = subprocess.run(pinned(argv, cpus), capture_output=True, timeout=seconds + 60, check=True)
    return Load(**orjson.loads(done.stdout))


# -- the Python stand-in for wrk, run as its own process ---------------------------------------


async def _connection(
    port: int,
    headers: list[str],
    deadline: float,
    bodies: list[int],
    domains: int,
    latencies: list[float],
    errors: list[int],
) -> None:
    reader, writer = await asyncio.open_connection(HOST, port)
    lines = [f"POST {PATH} HTTP/1.1", f"Host: {HOST}:{port}", "Content-Type: application/json", *headers]
    head = ("\r\n".join(lines) + "\r\n").encode()
    try:
        while time.perf_counter() < deadline:
            bodies[0] += 1
            n = bodies[0]
            body = b'{"email":"user%d@d%d.com"}' % (n, n % domains)
            sent = time.perf_counter()
            writer.write(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
            answer = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length:\s*(\d+)", answer)[1])  # type: ignore[index]
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - sent)
            if not answer.startswith(b"HTTP/1.1 2"):
                errors[0] += 1
    finally:
        writer.close()


async def _generate(port: int, headers: list[str], seconds: float, connections: int, start: int, domains: int) -> Load:
    latencies: list[float] = []
    errors = [0]
    began = time.perf_counter()
    deadline = began + seconds
    counter = [start]
    await asyncio.gather(
        *(_connection(port, headers, deadline, counter, domains, latencies, errors) for _ in range(connections))
    )
    return load_of(latencies, time.perf_counter() - began, errors[0], "python")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen", description="Python stand-in for wrk")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--start", type=int, default=0)
    parser.add_argument("--domains", type=int, default=1000)
    parser.add_argument("--header", action="append", default=[], help="'Name: value', sent with every request")
    args = parser.parse_args()
    load = asyncio.run(_generate(args.port, args.header, args.seconds, args.connections, args.start, args.domains))
    sys.stdout.write(orjson.dumps(load.__dict__).decode())


if __name__ == "__main__":
    main()
