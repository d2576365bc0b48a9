"""A real Exim (Debian's exim4-daemon-light) on loopback for the prober's integration test.

Exim's package conflicts with Postfix's (both provide ``mail-transport-agent``), and Postfix is what
this machine has, so Exim is never installed: ``unpacked()`` downloads its two packages with
``apt-get download`` and unpacks them with ``dpkg -x`` into a cache directory, once per machine. Each
instance runs in a private mount namespace (``unshare --mount``, root only) in which the unpacked
binaries lie over /usr/sbin (Exim re-executes itself from its compiled-in path) and its
``Debian-exim`` user is in a private copy of /etc/passwd; nothing outside that namespace changes. It
shares the host's loopback, listening on ``127.0.0.1:<ephemeral port>``, with its own spool, log and
configuration in a temporary directory.

The configuration keeps Exim's own replies and limits: a recipient no router accepts gets Exim's
"550 Unrouteable address" from ``verify = recipient`` (as Debian's default configuration answers an
unknown local part), and ``smtp_accept_max_nonmail`` stays at its default of 10, after which Exim ends
a session with "421 ... too many nonmail commands". Nothing is ever delivered: the prober never sends
DATA, and no transport leaves the machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.support.processes import free_port, listening

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "validator-tests" / "exim"
_PACKAGES = ("exim4-daemon-light", "exim4-base")
_LIBRARIES = ("libidn12",)
_USER = "Debian-exim:x:64990:64990:Exim:/nonexistent:/usr/sbin/nologin\n"
_GROUP = "Debian-exim:x:64990:\n"


def unpacked() -> Path | str:
    """The directory Exim's packages are unpacked in (fetching them the first time), or why that cannot be."""
    root = CACHE / "root"
    if (root / "usr" / "sbin" / "exim4").exists():
        return root
    if os.geteuid() != 0 or not shutil.which("apt-get") or not shutil.which("unshare"):
        return "Exim needs root, apt-get and unshare (it is unpacked, not installed, beside Postfix)"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    missing = [lib for lib in _LIBRARIES if subprocess.run(["dpkg", "-s", lib], capture_output=True).returncode]
    for attempt in range(2):  # a fresh machine has no package lists: update once, then try again
        fetched = Path(tempfile.mkdtemp(prefix="validator-exim-debs-"))
        run = subprocess.run(["apt-get", "download", *_PACKAGES], cwd=fetched, env=env, capture_output=True, text=True)
        if missing and run.returncode == 0:
            run = subprocess.run(
                ["apt-get", "install", "-y", "--no-install-recommends", *missing],
                env=env,
                capture_output=True,
                text=True,
            )
        if run.returncode == 0:
            break
        shutil.rmtree(fetched, ignore_errors=True)
        if attempt == 0:
            subprocess.run(["apt-get", "update"], env=env, capture_output=True, timeout=600)
    else:
        return f"fetching Exim failed: {run.stderr.strip()[-300:]}"
    CACHE.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="unpacking-", dir=CACHE))  # beside root: the rename stays on one disk
    for deb in fetched.glob("*.deb"):
        subprocess.run(["dpkg", "-x", str(deb), str(staging)], check=True)
    shutil.rmtree(fetched, ignore_errors=True)
    staging.rename(root)  # whole or not at all: a half-unpacked tree is never taken for a good one
    return root


class EximInstance:
    """``with EximInstance(root, existing, catch_all, domains) as mx: mx.port``: ``existing`` addresses are
    accepted, every other address at ``domains`` is unknown, every address at a ``catch_all`` domain exists."""

    def __init__(self, root: Path, existing: list[str], catch_all: list[str], domains: list[str]) -> None:
        self.root, self.existing, self.catch_all, self.domains = root, existing, catch_all, domains
        self.port = free_port()
        self.work = Path(tempfile.mkdtemp(prefix="validator-exim-"))
        self._daemon: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> EximInstance:
        conf = self._configure()
        script = (
            f"mount --bind {self.work}/passwd /etc/passwd && mount --bind {self.work}/group /etc/group && "
            f"mount -t overlay overlay -o lowerdir=/usr/sbin:{self.root}/usr/sbin /usr/sbin && "
            f"exec /usr/sbin/exim4 -C {conf} -bdf -oX {self.port}"
        )
        output = (self.work / "daemon.out").open("wb")
        self._daemon = subprocess.Popen(["unshare", "--mount", "--", "sh", "-c", script], stdout=output, stderr=output)
        daemon = self._daemon
        if listening(("127.0.0.1", self.port), 20, alive=lambda: daemon.poll() is None):
            return self
        self.__exit__()
        raise RuntimeError(f"Exim did not listen on 127.0.0.1:{self.port}: {self.log()[-2000:]}")

    def __exit__(self, *exc: object) -> None:
        if self._daemon is not None:
            self._daemon.terminate()
            self._daemon.wait(10)
        shutil.rmtree(self.work, ignore_errors=True)

    def log(self) -> str:
        """Exim's main log, then what the daemon printed."""
        paths = (self.work / "log" / "mainlog", self.work / "daemon.out")
        return "".join(path.read_text(errors="replace") for path in paths if path.exists())

    def version(self) -> str:
        first = (self.work / "log" / "mainlog").read_text(errors="replace").partition("\n")[0]
        return first.split("exim ", 1)[1].split()[0] if "exim " in first else "unknown"

    def _configure(self) -> Path:
        work = self.work
        work.chmod(0o755)  # the Debian-exim user must reach its spool and log directories
        (work / "passwd").write_text(Path("/etc/passwd").read_text() + _USER)
        (work / "group").write_text(Path("/etc/group").read_text() + _GROUP)
        for name in ("spool", "log"):
            (work / name).mkdir()
            os.chown(work / name, 64990, 64990)
        (work / "users").write_text("".join(f"{address}\n" for address in self.existing))
        catch_all_router = (
            f"catch_all:\n  driver = accept\n  domains = {' : '.join(self.catch_all)}\n  transport = nowhere\n"
            if self.catch_all
            else ""
        )
        conf = work / "exim.conf"
        conf.write_text(f"""\
keep_environment =
primary_hostname = mx.exim-probe.test
spool_directory = {work}/spool
log_file_path = {work}/log/%slog
pid_file_path = {work}/exim.pid
local_interfaces = 127.0.0.1
disable_ipv6 = true
tls_advertise_hosts =
log_selector = +smtp_connection +smtp_protocol_error +smtp_syntax_error
domainlist local_domains = {" : ".join([*self.domains, *self.catch_all])}
acl_smtp_rcpt = acl_rcpt
begin acl
acl_rcpt:
  require verify = recipient
  accept
begin routers
{catch_all_router}mailbox:
  driver = accept
  domains = +local_domains
  condition = ${{lookup{{$local_part@$domain}}lsearch{{{work}/users}}{{yes}}{{no}}}}
  transport = nowhere
begin transports
nowhere:
  driver = appendfile
  file = /dev/null
""")
        return conf
