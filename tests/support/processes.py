"""Helpers for tests that run the real `validator` command as a separate process."""

from __future__ import annotations

import os
import socket
import sys
import time
import urllib.request
from collections.abc import Callable
from urllib.parse import urlsplit

VALIDATOR = [sys.executable, "-m", "validator"]


def env_for(dns, **extra: str) -> dict[str, str]:
    """The environment of a child process: no inherited VALIDATOR_*, DNS pointed at the test server."""
    host, port = dns.address
    env = {k: v for k, v in os.environ.items() if not k.startswith("VALIDATOR_")}
    # 1 s a try: replies the tests slow down on purpose (0.12 s) timed out at 0.3 s on a loaded CI machine
    env.update({"VALIDATOR_DNS_NAMESERVERS": f"{host}:{port}", "VALIDATOR_DNS_TIMEOUT": "1.0", **extra})
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unreachable(url: str, default_port: int, what: str) -> str | None:
    """Why the server of ``url`` (``what``: "Redis") does not accept TCP connections, or None when it does."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or default_port
    try:
        socket.create_connection((host, port), timeout=3).close()
    except OSError as exc:
        return f"{what} at {host}:{port} unreachable ({exc})"
    return None


def listening(address: tuple[str, int], seconds: float, alive: Callable[[], bool] = lambda: True) -> bool:
    """Whether a TCP listener at ``address`` accepts a connection within ``seconds`` (polling: a daemon returns, or
    a process starts, before it listens); False at once when ``alive()`` says the server's process has ended."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and alive():
        try:
            socket.create_connection(address, timeout=1).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False


def wait_for(url: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"{url} never answered")
