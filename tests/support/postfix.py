"""A real Postfix (Debian's package) on loopback for the prober's integration test and benchmark.

``PostfixInstance`` writes its own ``main.cf`` and ``master.cf`` into a temporary directory, with
its own queue and data directories, and runs it with ``postfix -c DIR``: it never reads or touches
``/etc/postfix`` nor the system's default instance, and another instance on this machine (a DSN
corpus run, say) is no concern. Its one SMTP listener is ``127.0.0.1:<ephemeral port>``; outbound
delivery is impossible (``default_transport`` and ``relay_transport`` are ``error``, and mail for
the virtual domains is never accepted past RCPT by a prober anyway). Postfix's anti-harvesting
limits are left at their defaults (``smtpd_soft_error_limit = 10``, ``smtpd_error_sleep_time = 1s``,
``smtpd_hard_error_limit = 20``; https://www.postfix.org/postconf.5.html).

``unavailable()`` installs the package when it is missing and this is root with apt-get (the
"No configuration" debconf answer: programs only, no system instance), and otherwise says why not.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support.processes import free_port, listening

MASTER_CF = """\
127.0.0.1:{port} inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n -  0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n -  - trivial-rewrite
bounce    unix  - - n -  0 bounce
defer     unix  - - n -  0 bounce
trace     unix  - - n -  0 bounce
verify    unix  - - n -  1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -  - proxymap
smtp      unix  - - n -  - smtp
relay     unix  - - n -  - smtp
showq     unix  n - n -  - showq
error     unix  - - n -  - error
retry     unix  - - n -  - error
discard   unix  - - n -  - discard
virtual   unix  - n n -  - virtual
anvil     unix  - - n -  1 anvil
scache    unix  - - n -  1 scache
postlog   unix-dgram n - n - 1 postlogd
"""


def unavailable() -> str | None:
    """None when Postfix can run here (installing it if needed), else the reason it cannot."""
    if shutil.which("postfix") or Path("/usr/sbin/postfix").exists():
        return None if os.geteuid() == 0 else "Postfix is installed, but starting an instance needs root"
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return "Postfix is not installed and cannot be (needs root and apt-get: apt-get install postfix)"
    subprocess.run(
        ["debconf-set-selections"],
        input="postfix postfix/main_mailer_type select No configuration\n",
        text=True,
        capture_output=True,
    )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    updated = False
    for _ in range(30):  # another apt-get may hold the dpkg lock for a while
        run = subprocess.run(
            ["apt-get", "install", "-y", "--no-install-recommends", "postfix"],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if run.returncode == 0:
            return None
        if "Unable to locate package" in run.stderr and not updated:  # a fresh machine has no package lists
            updated = True
            subprocess.run(["apt-get", "update"], env=env, capture_output=True, timeout=600)
        elif "lock" not in run.stderr:
            break
        else:
            time.sleep(10)
    return f"apt-get install postfix failed: {run.stderr.strip()[-300:]}"


class PostfixInstance:
    """``with PostfixInstance(replies, catch_all, domains) as mx: mx.port``.

    ``replies``: address -> how it is answered: "250 ..." means the mailbox exists; any other
    reply ("452 4.2.2 Mailbox full") is given by an access map, after Postfix's own "<address>:
    Recipient address rejected:". Other addresses at ``domains`` are unknown ("550 5.1.1 ... User
    unknown in virtual mailbox table"); every address at a ``catch_all`` domain exists.
    """

    def __init__(self, replies: dict[str, str], catch_all: list[str], domains: list[str]) -> None:
        self.replies, self.catch_all, self.domains = replies, catch_all, domains
        self.port = free_port()
        self.version = subprocess.run(
            ["postconf", "-d", "-h", "mail_version"], capture_output=True, text=True
        ).stdout.strip()
        self.work = Path(tempfile.mkdtemp(prefix="validator-postfix-"))

    def __enter__(self) -> PostfixInstance:
        self._configure()
        self._postfix("start")
        if listening(("127.0.0.1", self.port), 20):
            return self
        self.__exit__()
        raise RuntimeError(f"Postfix did not listen on 127.0.0.1:{self.port}: {self.log()[-2000:]}")

    def __exit__(self, *exc: object) -> None:
        subprocess.run(["postfix", "-c", str(self.work / "etc"), "stop"], capture_output=True)
        shutil.rmtree(self.work, ignore_errors=True)

    def log(self) -> str:
        path = self.work / "maillog"
        return path.read_text(errors="replace") if path.exists() else ""

    def _postfix(self, command: str) -> None:
        run = subprocess.run(["postfix", "-c", str(self.work / "etc"), command], capture_output=True, text=True)
        if run.returncode != 0:
            raise RuntimeError(f"postfix {command} failed: {run.stderr.strip()}")

    def _configure(self) -> None:
        work = self.work
        work.chmod(0o755)  # the postfix user must reach its queue and data directories
        (work / "etc").mkdir()
        for name in ("queue", "data", "vmail"):
            (work / name).mkdir()
        shutil.chown(work / "data", "postfix", "postfix")
        boxes = [a for a, reply in self.replies.items() if reply.startswith("2")]
        # Postfix adds "<address>: Recipient address rejected: " itself
        refused = {
            a: re.sub(r"<[^>]*>: Recipient address rejected: ", "", reply.format(addr=a))
            for a, reply in self.replies.items()
            if not reply.startswith("2")
        }
        (work / "vmailbox").write_text(
            "".join(f"{a} {a}/\n" for a in [*boxes, *refused]) + "".join(f"@{d} catchall/\n" for d in self.catch_all)
        )
        # access(5): "4NN text" / "5NN text" rejects with that code; an enhanced code may lead the text
        (work / "access").write_text("".join(f"{a} {reply}\n" for a, reply in refused.items()))
        (work / "etc" / "main.cf").write_text(f"""\
compatibility_level = 3.6
queue_directory = {work}/queue
data_directory = {work}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.postfix-probe.test
mydomain = postfix-probe.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 192.0.2.1/32
smtpd_banner = $myhostname ESMTP
smtpd_relay_restrictions = reject_unauth_destination
smtpd_recipient_restrictions = check_recipient_access texthash:{work}/access, permit
virtual_mailbox_domains = {", ".join([*self.domains, *self.catch_all])}
virtual_mailbox_maps = texthash:{work}/vmailbox
virtual_mailbox_base = {work}/vmail
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
default_transport = error:outbound delivery is disabled in this instance
relay_transport = error:outbound delivery is disabled in this instance
alias_maps =
alias_database =
smtputf8_enable = no
notify_classes =
biff = no
maillog_file_prefixes = {work}
maillog_file = {work}/maillog
""")
        (work / "etc" / "master.cf").write_text(MASTER_CF.format(port=self.port))
