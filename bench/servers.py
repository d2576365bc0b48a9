"""Server processes under test: start (optionally pinned to CPUs), wait for /healthz, stop.

Each server runs in its own session (process group), so stopping it signals its workers too:
SIGTERM first (a graceful shutdown), SIGKILL if it is still there after a grace period. Only
loopback is contacted, with ``http.client`` (which, unlike urllib, never consults proxies).
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
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


def validator_env(variables: dict[str, str]) -> dict[str, str]:
    """The environment of a ``validator`` child: ours less its ``VALIDATOR_*`` variables (the child is
    configured by ``variables`` alone), with the repository first on ``PYTHONPATH``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VALIDATOR_")}
    env.update(variables)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def proc_status_kib(pid: int, field: str) -> int:
    """``VmRSS``, ``VmHWM``, ... of process ``pid`` in KiB (0 once it has gone)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def group_pids(pgid: int) -> list[int]:
    """Every process of process group ``pgid`` (a server started in a session of its own)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # the process ended meanwhile
        if int(fields[2]) == pgid:  # pgrp
            pids.append(int(stat.parent.name))
    return pids


def group_cpu_seconds(pgid: int) -> float:
    """CPU time (user + system) used so far by the processes of group ``pgid``."""
    total = 0
    for pid in group_pids(pgid):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


@dataclass
class Server:
    """One server under test, run in ``workdir`` (its database and log; never the repository).

    ``env`` is added to our environment less its ``VALIDATOR_*`` variables; ``headers`` go
    with every request the bench sends it (an API key).
    """

    name: str
    argv: list[str]
    port: int
    env: dict[str, str] = field(default_factory=dict)
    cpus: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    workdir: Path = field(init=False)
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix=f"bench-{self.name}-"))
        self.log = self.workdir / "server.log"

    def start(self) -> Server:
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                pinned(self.argv, self.cpus),
                env=validator_env(self.env),
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        try:
            self.wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def wait_healthy(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                if self.request("GET", "/healthz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not answer /healthz within {timeout:g}s:\n{self.log_tail()}")

    def stop(self, grace: float = 15.0) -> None:
        """SIGTERM to the server's group (our own child and its workers), SIGKILL after ``grace``."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def group_pids(self) -> list[int]:
        """The server and its workers (and its job runner's child): its process group."""
        assert self.process is not None
        return group_pids(self.process.pid)

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by every process of this server's group.

        Unlike requests/s, CPU per request hardly moves when other work shares the machine.
        """
        assert self.process is not None
        return group_cpu_seconds(self.process.pid)

    def memory_kib(self, field: str = "VmRSS", group: bool = False) -> int:
        """A memory figure from /proc/<pid>/status, in KiB: ``VmRSS`` (resident now) or ``VmHWM``
        (the peak resident size so far), of the server's own process, or summed over its group."""
        assert self.process is not None
        return sum(proc_status_kib(pid, field) for pid in (self.group_pids() if group else [self.process.pid]))

    def log_tail(self, lines: int = 20) -> str:
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def request(self, method: str, path: str, body: object = None, timeout: float = 30.0) -> tuple[int, bytes]:
        """One request on a new connection (a new connection may reach another SO_REUSEPORT worker)."""
        connection = http.client.HTTPConnection(HOST, self.port, timeout=timeout)
        try:
            payload = None if body is None else orjson.dumps(body)
            headers = {**self.headers, **({"Content-Type": "application/json"} if payload is not None else {})}
            connection.request(method, path, body=payload, headers=headers)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def metric_values(self, name: str) -> dict[str, float]:
        """``{labels: value}`` for one metric of our ``/metrics`` (one worker's view)."""
        status, text = self.request("GET", "/metrics")
        if status != 200:
            return {}
        values = {}
        for line in text.decode().splitlines():
            if line.startswith(name):
                labels, _, value = line[len(name) :].rpartition(" ")
                values[labels] = float(value)
        return values
