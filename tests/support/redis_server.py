"""The Redis server the tests use: the configured one, or a private one when it is unreachable.

Replicas share the prober's limits through Redis (``VALIDATOR_REDIS_URL``), and the tests of that
run against a real server everywhere, as the PostgreSQL ones do: CI and developers with a server at
``TEST_REDIS_URL`` (default 127.0.0.1:6379) use it; a machine without one gets a private
``redis-server`` for the session, on a free loopback port, keeping nothing on disk. Its binary is
the one on ``PATH``, else Debian's, fetched and unpacked once per machine like the mail servers
(``tests/support/unpacked.py``). Nothing is skipped either way.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support import processes
from tests.support.processes import free_port, listening
from tests.support.unpacked import unpacked

# redis-tools holds the server (one binary that acts by the name it is called by); redis-server the name.
_PACKAGES = ("redis-tools", "redis-server")
_LIBRARIES = ("libjemalloc2", "liblzf1")
_SERVER = "usr/bin/redis-server"


def unreachable(url: str) -> str | None:
    """Why the Redis server of ``url`` does not accept TCP connections, or None when it does."""
    return processes.unreachable(url, 6379, "Redis")


def debian_binary() -> Path | str:
    """Debian's ``redis-server``, unpacked once per machine, or why that cannot be done here."""
    root = unpacked("redis", _PACKAGES, _LIBRARIES, _SERVER)
    return root / _SERVER if isinstance(root, Path) else root


def binary() -> Path | str:
    """The ``redis-server`` to start: the one on ``PATH``, else Debian's; or why there is none."""
    found = shutil.which("redis-server")
    return Path(found) if found else debian_binary()


@contextmanager
def private_server(server: Path) -> Iterator[str]:
    """Run ``server`` on 127.0.0.1 and a free port, persisting nothing; yield its URL; stop it."""
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="validator-test-redis-")
    command = [str(server), "--bind", "127.0.0.1", "--port", str(port), "--dir", workdir]
    command += ["--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"]
    log = Path(workdir, "output")
    with log.open("wb") as output:
        daemon = subprocess.Popen(command, stdout=output, stderr=output)
    try:
        if not listening(("127.0.0.1", port), 20, alive=lambda: daemon.poll() is None):
            raise RuntimeError(f"{server} did not listen on 127.0.0.1:{port}: {log.read_text()[-2000:]}")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        daemon.terminate()
        try:
            daemon.wait(10)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
        shutil.rmtree(workdir, ignore_errors=True)
