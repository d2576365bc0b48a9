"""Make a real Exim (Debian's exim4-daemon-light, unpacked, not installed) write DSNs for failures we cause.

Run by ``make_corpus.sh`` inside the same kind of private network and mount namespace as
``postfix_dsns``, with the cases, DNS zone, scripted remote MX and DSN sink of ``harness``. Exim's
Debian package conflicts with Postfix's (both provide ``mail-transport-agent``), so the script
unpacks it with ``dpkg -x`` and, inside the mount namespace only, lays the unpacked binaries over
/usr/sbin (Exim re-executes itself from its compiled-in path) and adds its ``Debian-exim`` user to a
private copy of /etc/passwd. Nothing outside the namespace changes.

Retries are 2 s apart and give up after 6 s (``retry timeout exceeded``); ``slow.test`` alone
retries for an hour, so its message gets Exim's delay warning instead.
"""

from __future__ import annotations

import argparse
import subprocess
import time
from pathlib import Path

from tests.corpus.mta.harness import CASES as POSTFIX_CASES
from tests.corpus.mta.harness import (
    PORT,
    Case,
    submit,
    wait_for,
    wait_for_listener,
    world_outside,
    write,
)

EXIM = "/usr/sbin/exim4"  # the unpacked binary, laid over /usr/sbin inside the namespace
# Postfix's cases, less the virtual-user table Exim is not given; its success notice comes from the
# local domain and its delay warning from a host that is slow (not from a second phase).
_EXIM_OWN = {
    "success-notice": Case("success-notice", (("exists@local.test", "delivered", "ignore"),), notify="SUCCESS"),
    "delay-warning": Case("delay-warning", (("greylisted@slow.test", "deferred", "ignore"),)),
}
# and less the access-table refusal, whose remote MX is a listener of the Postfix instance
_POSTFIX_ONLY = ("unknown-virtual-user", "recipient-blocked-by-admin")
CASES = tuple(_EXIM_OWN.get(case.name, case) for case in POSTFIX_CASES if case.name not in _POSTFIX_ONLY)


def exim_conf(work: Path) -> str:
    """The instance's configuration; Exim runs a -C configuration without root, so it delivers locally
    only as itself."""
    return f"""\
keep_environment =
primary_hostname = exim.sender.test
qualify_domain = sender.test
spool_directory = {work}/spool
log_file_path = {work}/log/%slog
pid_file_path = {work}/exim.pid
daemon_smtp_ports = 2525
local_interfaces = 127.0.0.1
disable_ipv6 = true
dns_ipv4_lookup = *
domainlist local_domains = local.test
acl_smtp_rcpt = acl_rcpt
dsn_advertise_hosts = *
tls_advertise_hosts =
delay_warning = 3s
delay_warning_condition = ${{if match{{$h_to:}}{{slow\\\\.test}}}}
begin acl
acl_rcpt:
  accept
begin routers
dnslookup:
  driver = dnslookup
  domains = ! +local_domains
  transport = remote_smtp
  no_more
mailbox:
  driver = accept
  domains = +local_domains
  local_parts = exists
  transport = local_delivery
begin transports
remote_smtp:
  driver = smtp
  port = {PORT}
local_delivery:
  driver = appendfile
  file = {work}/mail/inbox
  user = Debian-exim
begin retry
slow.test * F,1h,2s
* * F,6s,2s
"""


def configure(work: Path) -> Path:
    for name, mode in (("spool", 0o750), ("log", 0o750), ("mail", 0o777)):
        (work / name).mkdir()
        (work / name).chmod(mode)
        if name != "mail":
            subprocess.run(["chown", "Debian-exim:Debian-exim", str(work / name)], check=True)
    conf = work / "exim.conf"
    conf.write_text(exim_conf(work))
    return conf


def run(work: Path, out: Path) -> None:
    conf = configure(work)
    with world_outside() as sink:
        subprocess.run([EXIM, "-C", str(conf), "-bd", "-q1s"], check=True)
        try:
            wait_for_listener(("127.0.0.1", 2525))
            written = []
            for case in CASES:
                before = len(sink.messages)
                submit(case)
                wait_for(sink, before + 1)
                written.append((case, sink.messages[before]))
        finally:
            _stop(work / "exim.pid")
    version = subprocess.run([EXIM, "-C", str(conf), "-bV"], capture_output=True, text=True).stdout.split()[2]
    write(out, written, "exim", version)


def _stop(pid_file: Path, seconds: float = 10) -> None:
    """Stop the daemon by the pid it wrote, waiting for the file if it started a moment ago."""
    deadline = time.monotonic() + seconds
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    if pid_file.exists():
        subprocess.run(["kill", pid_file.read_text().strip()], check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, required=True, help="an empty directory for the Exim instance")
    parser.add_argument("--out", type=Path, required=True, help="where the DSNs and manifest.jsonl go")
    args = parser.parse_args()
    run(args.work, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
