"""A real Exim (Debian's exim4-daemon-light) on loopback for the prober's integration test.

Unpacked, not installed (``tests/support/unpacked.py``). Each instance runs in a private mount namespace
in which the unpacked binaries lie over /usr/sbin (Exim re-executes itself from its compiled-in path) and
its ``Debian-exim`` user is in a private copy of /etc/passwd. It shares the host's loopback, listening
on ``127.0.0.1:<ephemeral port>``, with its own spool, log and configuration in a temporary directory.

The configuration keeps Exim's own replies and limits: a recipient no router accepts gets Exim's
"550 Unrouteable address" from ``verify = recipient`` (as Debian's default configuration answers an
unknown local part), and ``smtp_accept_max_nonmail`` stays at its default of 10, after which Exim ends
a session with "421 ... too many nonmail commands". Nothing is ever delivered: the prober never sends
DATA, and no transport leaves the machine.
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.support.unpacked import UnpackedServer
from tests.support.unpacked import unpacked as fetch_unpacked

_USER = "Debian-exim:x:64990:64990:Exim:/nonexistent:/usr/sbin/nologin\n"
_GROUP = "Debian-exim:x:64990:\n"


def unpacked() -> Path | str:
    """The directory Exim's packages are unpacked in (fetching them the first time), or why that cannot be."""
    return fetch_unpacked("exim", ("exim4-daemon-light", "exim4-base"), ("libidn12",), "usr/sbin/exim4")


class EximInstance(UnpackedServer):
    """``with EximInstance(root, existing, catch_all, domains) as mx: mx.port``: ``existing`` addresses are
    accepted, every other address at ``domains`` is unknown, every address at a ``catch_all`` domain exists."""

    name = "Exim"

    def __init__(self, root: Path, existing: list[str], catch_all: list[str], domains: list[str]) -> None:
        super().__init__(root)
        self.existing, self.catch_all, self.domains = existing, catch_all, domains

    def __enter__(self) -> EximInstance:
        conf = self._configure()
        setup = [
            f"mount --bind {self.work}/passwd /etc/passwd",
            f"mount --bind {self.work}/group /etc/group",
            f"mount -t overlay overlay -o lowerdir=/usr/sbin:{self.root}/usr/sbin /usr/sbin",
        ]
        self._start(setup, f"/usr/sbin/exim4 -C {conf} -bdf -oX {self.port}", "daemon.out")
        return self

    def log(self) -> str:
        """Exim's main log, then what the daemon printed."""
        paths = (self.work / "log" / "mainlog", self.work / "daemon.out")
        return "".join(path.read_text(errors="replace") for path in paths if path.exists())

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
