"""Server processes under test: start (optionally pinned to CPUs), wait for /healthz, stop.

Each server runs in its own session (process group), so stopping it signals its workers too:
SIGTERM first (a graceful shutdown), SIGKILL if it is still there after a grace period. Only
loopback is contacted, with ``http.client`` (which, unlike urllib, never consults proxies).
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def pinned(argv: Sequence[str], cpus: str | None) -> list[str]:
    """``argv`` under ``taskset -c CPUS`` when asked for and available; else unchanged."""
    if cpus is None or shutil.which("taskset") is None or len(os.sched_getaffinity(0)) < 2:
        return list(argv)
    return ["taskset", "-c", cpus, *argv]


def validator_command() -> list[str]:
    """The installed ``validator`` script beside this interpreter (the venv's), else ``-m validator``."""
    script = Path(sys.executable).with_name("validator")
    return [str(script)] if script.exists() else [sys.executable, "-m", "validator"]


@dataclass
class Server:
    """One server under test; ``argv`` gets its port from ``port``, ``env`` is added to ours."""

    name: str
    argv: list[str]
    port: int
    env: Mapping[str, str] = field(default_factory=dict)
    cpus: str | None = None
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    def start(self) -> Server:
        env = {k: v for k, v in os.environ.items() if not k.startswith("VALIDATOR_")}
        env.update(self.env)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        fd, log = tempfile.mkstemp(prefix=f"bench-{self.name.replace(' ', '_')}-", suffix=".log")
        self.log = Path(log)
        workdir = tempfile.mkdtemp(prefix="bench-server-")  # nothing the server writes lands in the repo
        self.process = subprocess.Popen(
            pinned(self.argv, self.cpus), env=env, cwd=workdir, stdin=subprocess.DEVNULL,
            stdout=fd, stderr=fd, start_new_session=True,
        )
        os.close(fd)
        self.wait_healthy()
        return self

    def wait_healthy(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                if request(self.port, "GET", "/healthz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not answer /healthz within {timeout:g}s:\n{self.log_tail()}")

    def stop(self, grace: float = 15.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)  # our own child's group: the server and its workers
        try:
            self.process.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)

    def log_tail(self, lines: int = 20) -> str:
        if self.log is None or not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def request(port: int, method: str, path: str, body: object = None, timeout: float = 30.0) -> tuple[int, bytes]:
    """One request on a new connection (a new connection may land on another SO_REUSEPORT worker)."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        payload = None if body is None else orjson.dumps(body)
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        connection.request(method, path, body=payload, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def metric_values(port: int, name: str) -> dict[str, float]:
    """``{labels: value}`` for one metric of our ``/metrics`` (one worker's view)."""
    status, text = request(port, "GET", "/metrics")
    if status != 200:
        return {}
    values = {}
    for line in text.decode().splitlines():
        if line.startswith(name):
            labels, _, value = line[len(name):].rpartition(" ")
            values[labels] = float(value)
    return values
