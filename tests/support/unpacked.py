"""Mail servers whose Debian packages conflict with Postfix's, fetched and unpacked for the tests, never installed.

Exim, OpenSMTPD and Sendmail (and Postfix) each provide ``mail-transport-agent``, and Postfix is what this machine
has, so the tests run the others from their packages unpacked with ``dpkg -x`` into a cache directory, once
per machine, inside private mount namespaces (``unshare --mount``, root only) that lay the unpacked
binaries over the paths they were compiled with. Nothing outside those namespaces changes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.support.processes import free_port, listening

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "validator-tests"


def unpacked(name: str, packages: tuple[str, ...], libraries: tuple[str, ...], binary: str) -> Path | str:
    """The directory ``packages`` are unpacked in (fetching them the first time, and installing the packages
    ``libraries`` they need to run: shared libraries, m4), or why that cannot be done here. ``binary``
    (``usr/sbin/exim4``) marks a complete tree."""
    root = CACHE / name / "root"
    if (root / binary).exists():
        return root
    if os.geteuid() != 0 or not shutil.which("apt-get") or not shutil.which("unshare"):
        return f"{name} needs root, apt-get and unshare (it is unpacked, not installed, beside Postfix)"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    missing = [lib for lib in libraries if subprocess.run(["dpkg", "-s", lib], capture_output=True).returncode]
    for attempt in range(2):  # a fresh machine has no package lists: update once, then try again
        fetched = Path(tempfile.mkdtemp(prefix=f"validator-{name}-debs-"))
        run = subprocess.run(["apt-get", "download", *packages], cwd=fetched, env=env, capture_output=True, text=True)
        if missing and run.returncode == 0:
            install = ["apt-get", "install", "-y", "--no-install-recommends", *missing]
            run = subprocess.run(install, env=env, capture_output=True, text=True)
        if run.returncode == 0:
            break
        shutil.rmtree(fetched, ignore_errors=True)
        if attempt == 0:
            subprocess.run(["apt-get", "update"], env=env, capture_output=True, timeout=600)
    else:
        return f"fetching {name} failed: {run.stderr.strip()[-300:]}"
    (CACHE / name).mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="unpacking-", dir=CACHE / name))  # beside root: one disk for the rename
    for deb in fetched.glob("*.deb"):
        subprocess.run(["dpkg", "-x", str(deb), str(staging)], check=True)
    shutil.rmtree(fetched, ignore_errors=True)
    staging.rename(root)  # whole or not at all: a half-unpacked tree is never taken for a good one
    return root


class UnpackedServer:
    """One daemon from an unpacked tree, on ``127.0.0.1:<port>``, with a temporary ``work`` directory; a subclass
    writes its configuration and calls ``_start`` from ``__enter__``."""

    name = "server"
    # True: the work directory lies beside the unpacked tree (root's only), not in /tmp: Sendmail refuses maps
    # below a world-writable directory; Exim's and OpenSMTPD's users must reach theirs, so they stay in /tmp
    private_work = False

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.work = Path(tempfile.mkdtemp(prefix="work-", dir=root.parent if self.private_work else None))
        self._daemon: subprocess.Popen[bytes] | None = None

    def _start(self, setup: list[str], command: str, output: str) -> None:
        """``command`` in a private mount namespace after the ``setup`` shell commands (bind and overlay mounts),
        its output in ``work/output``; returns once it listens."""
        script = " && ".join([*setup, f"exec {command}"])
        log = (self.work / output).open("wb")
        daemon = subprocess.Popen(["unshare", "--mount", "--", "sh", "-c", script], stdout=log, stderr=log)
        self._daemon = daemon
        if not listening(("127.0.0.1", self.port), 20, alive=lambda: daemon.poll() is None):
            self.__exit__()
            raise RuntimeError(f"{self.name} did not listen on 127.0.0.1:{self.port}: {self.log()[-2000:]}")

    def __exit__(self, *exc: object) -> None:
        if self._daemon is not None:
            self._daemon.terminate()
            self._daemon.wait(10)
        shutil.rmtree(self.work, ignore_errors=True)

    def log(self) -> str:
        raise NotImplementedError
