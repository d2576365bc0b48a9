"""A real Sendmail 8.17 (Debian's sendmail-bin) on loopback, with Debian's default defences, for the prober's test.

Unpacked, not installed (``tests/support/unpacked.py``); its configuration is built by m4 from the package's
own ``cf`` macros. It keeps what Debian's ``sendmail.mc`` turns on against address harvesters and bots:
``confBAD_RCPT_THROTTLE`` 3 (after three unknown recipients in a session, each further one is answered a
second late: "Possible SMTP RCPT flood, throttling"), ``greet_pause`` 1000 ms (the greeting waits a second,
and a client that talks first is refused) and a connection rate throttle of 15 a second. Sendmail waits
for its own host name to resolve, so the mount namespace also gets a private /etc/hosts that names this
host in full (and a service switch that reads host names from it alone), and a resolv.conf with no server
(the prober's sender domain is never resolvable here, and ``accept_unresolvable_domains`` takes it);
mailbox users are in a private /etc/passwd. It listens on ``127.0.0.1:<ephemeral port>`` in the
foreground (``-bD``), and ``-X`` records every SMTP line it reads and writes (there is no syslog).
"""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

from tests.support.unpacked import UnpackedServer
from tests.support.unpacked import unpacked as fetch_unpacked

BINARY = "usr/libexec/sendmail/sendmail"


def unpacked() -> Path | str:
    """The directory Sendmail's packages are unpacked in (fetching them the first time), or why that cannot be."""
    return fetch_unpacked("sendmail", ("sendmail-bin", "sendmail-cf"), ("m4",), BINARY)


class SendmailInstance(UnpackedServer):
    """``with SendmailInstance(root, users, catch_all, domains) as mx: mx.port``: the local parts in ``users``
    exist at every domain of ``domains`` (system users), any other is unknown ("550 5.1.1 ... User unknown");
    every address at a ``catch_all`` domain exists (virtusertable)."""

    name = "Sendmail"
    private_work = True

    def __init__(self, root: Path, users: list[str], catch_all: list[str], domains: list[str]) -> None:
        super().__init__(root)
        self.users, self.catch_all, self.domains = users, catch_all, domains

    def __enter__(self) -> SendmailInstance:
        conf = self._configure()
        setup = [
            f"mount --bind {self.work}/passwd /etc/passwd",
            f"mount --bind {self.work}/hosts /etc/hosts",
            f"mount --bind {self.work}/resolv.conf /etc/resolv.conf",
            # newaliases, here where its host name resolves (outside it would sleep a minute first): without
            # aliases.db every local recipient is "Recipient ok (will queue)", unknown or not
            f"{self.root}/{BINARY} -C {conf} -bi >/dev/null",
        ]
        self._start(setup, f"{self.root}/{BINARY} -C {conf} -bD -X {self.work}/trace", "sendmail.out")
        return self

    def log(self) -> str:
        """Every SMTP line Sendmail read and wrote (``-X``), then what it printed."""
        paths = (self.work / "trace", self.work / "sendmail.out")
        return "".join(path.read_text(errors="replace") for path in paths if path.exists())

    def _configure(self) -> Path:
        work, makemap = self.work, self.root / "usr/libexec/sendmail/makemap"
        passwd = Path("/etc/passwd").read_text()
        for uid, user in enumerate(self.users, start=70000):
            passwd += f"{user}:x:{uid}:{uid}::/nonexistent:/usr/sbin/nologin\n"
        (work / "passwd").write_text(passwd)
        host = socket.gethostname().split(".")[0]
        (work / "resolv.conf").write_text("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")  # fails fast
        (work / "hosts").write_text(f"127.0.0.1 localhost\n127.0.0.1 {host}.sendmail-probe.test {host}\n")
        # host names from /etc/hosts alone: a DNS "try again" for its own name would make it sleep a minute
        (work / "service.switch").write_text("hosts files\naliases files\n")
        (work / "mqueue").mkdir(mode=0o700)
        (work / "aliases").write_text("postmaster: root\n")
        cf = self.root / "usr/share/sendmail/cf"
        mc = work / "sendmail.mc"
        mc.write_text(f"""\
include(`{cf}/m4/cf.m4')dnl
OSTYPE(`linux')dnl
define(`confDOMAIN_NAME', `mx.sendmail-probe.test')dnl
define(`QUEUE_DIR', `{work}/mqueue')dnl
define(`confPID_FILE', `{work}/sendmail.pid')dnl
define(`STATUS_FILE', `{work}/statistics')dnl
define(`ALIAS_FILE', `{work}/aliases')dnl
define(`confSERVICE_SWITCH_FILE', `{work}/service.switch')dnl
define(`confBAD_RCPT_THROTTLE', `3')dnl
define(`confCONNECTION_RATE_THROTTLE', `15')dnl
define(`confCONNECTION_RATE_WINDOW_SIZE', `10m')dnl
DAEMON_OPTIONS(`Port={self.port}, Addr=127.0.0.1, Name=MTA')dnl
FEATURE(`accept_unresolvable_domains')dnl
FEATURE(`nocanonify')dnl
FEATURE(`no_default_msa')dnl
FEATURE(`access_db', `hash {work}/access')dnl
FEATURE(`greet_pause', `1000')dnl
FEATURE(`virtusertable', `hash {work}/virtusertable')dnl
{"".join(f"LOCAL_DOMAIN(`{d}')dnl{chr(10)}" for d in self.domains)}\
{"".join(f"VIRTUSER_DOMAIN(`{d}')dnl{chr(10)}" for d in self.catch_all)}\
MAILER(`local')dnl
MAILER(`smtp')dnl
""")
        conf = work / "sendmail.cf"
        conf.write_bytes(subprocess.run(["m4", str(mc)], capture_output=True, check=True).stdout)
        for name, lines in (("access", ""), ("virtusertable", "".join(f"@{d} nobody\n" for d in self.catch_all))):
            command = [str(makemap), "-C", str(conf), "hash", str(work / name)]
            subprocess.run(command, input=lines, text=True, check=True)
        (work / "statistics").touch()
        return conf
