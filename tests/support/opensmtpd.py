"""A real OpenSMTPD 6.8 (Debian's opensmtpd) on loopback for the prober's integration test.

Unpacked, not installed (``tests/support/unpacked.py``). Each instance runs in a private mount namespace in
which the unpacked binaries lie over /usr/sbin and /usr/libexec, its two users and the mailboxes' users are
in a private /etc/passwd, and private tmpfs mounts stand in for the spool, chroot and control-socket paths it
was compiled with (/var/spool/smtpd, /var/lib/opensmtpd/empty, /run/smtpd.sock). It shares the host's
loopback, listening on ``127.0.0.1:<ephemeral port>``, in the foreground (``-d``) with its log on stderr.

Its own replies and limits stay: an unknown local user gets "550 Invalid recipient: <x>", and a session
is ended after 50 failed recipients (``SMTP_KICK_RCPTFAIL``). Nothing is ever delivered: the prober never
sends DATA.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.unpacked import UnpackedServer
from tests.support.unpacked import unpacked as fetch_unpacked

_DAEMON_USERS = ("opensmtpd", 64991), ("opensmtpq", 64992)


def unpacked() -> Path | str:
    """The directory OpenSMTPD's package is unpacked in (fetching it the first time), or why that cannot be."""
    return fetch_unpacked("opensmtpd", ("opensmtpd",), ("libevent-2.1-7",), "usr/sbin/smtpd")


class OpenSmtpdInstance(UnpackedServer):
    """``with OpenSmtpdInstance(root, users, catch_all, domains) as mx: mx.port``: the local parts in ``users`` exist
    at every domain of ``domains`` (system users), any other is unknown; every address at a ``catch_all`` domain
    exists."""

    name = "OpenSMTPD"

    def __init__(self, root: Path, users: list[str], catch_all: list[str], domains: list[str]) -> None:
        super().__init__(root)
        self.users, self.catch_all, self.domains = users, catch_all, domains

    def __enter__(self) -> OpenSmtpdInstance:
        conf = self._configure()
        setup = [
            f"mount --bind {self.work}/passwd /etc/passwd",
            f"mount --bind {self.work}/group /etc/group",
            f"mount -t overlay overlay -o lowerdir=/usr/sbin:{self.root}/usr/sbin /usr/sbin",
            f"mount -t overlay overlay -o lowerdir=/usr/libexec:{self.root}/usr/libexec /usr/libexec",
            "mount -t tmpfs tmpfs /var/spool",
            "mount -t tmpfs tmpfs /run",
            "mount -t tmpfs tmpfs /var/lib",
            "mkdir -p /var/lib/opensmtpd/empty",
        ]
        self._start(setup, f"/usr/sbin/smtpd -d -f {conf}", "smtpd.log")
        return self

    def log(self) -> str:
        path = self.work / "smtpd.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _configure(self) -> Path:
        work = self.work
        passwd, group = Path("/etc/passwd").read_text(), Path("/etc/group").read_text()
        for name, uid in _DAEMON_USERS:
            passwd += f"{name}:x:{uid}:{uid}:OpenSMTPD:/var/lib/opensmtpd/empty:/usr/sbin/nologin\n"
            group += f"{name}:x:{uid}:\n"
        for uid, user in enumerate(self.users, start=70000):
            passwd += f"{user}:x:{uid}:{uid}::/nonexistent:/usr/sbin/nologin\n"
        (work / "passwd").write_text(passwd)
        (work / "group").write_text(group)
        (work / "catchall").write_text("".join(f"@{domain} nobody\n" for domain in self.catch_all))
        rules = "".join(f'match from any for domain "{d}" action "local"\n' for d in self.domains)
        rules += "".join(f'match from any for domain "{d}" action "catchall"\n' for d in self.catch_all)
        conf = work / "smtpd.conf"
        conf.write_text(
            f'table catchall file:{work}/catchall\naction "local" mbox\naction "catchall" mbox virtual <catchall>\n'
            f"{rules}listen on 127.0.0.1 port {self.port} hostname mx.opensmtpd-probe.test\n"
        )
        return conf
