"""Make a real OpenSMTPD (Debian's opensmtpd, unpacked, not installed) write DSNs for failures we cause.

OpenSMTPD is a family the development corpus (``../shared/corpora/bounces``) has no message from, so
its DSNs are read by rules that never saw its wording: ``python -m bench bounces`` reports them apart,
as an unseen family. Run by ``make_corpus.sh`` inside the same kind of private network and mount
namespace as ``postfix_dsns``, with the cases, DNS zone, scripted remote MX, DSN sink and manifest
writer of ``harness``. Its package conflicts with Postfix's (both provide ``mail-transport-agent``), so
the script unpacks it with ``dpkg -x``; inside the mount namespace only, ``make_corpus.sh`` lays the unpacked
binaries over /usr/sbin and /usr/libexec, adds its two users to a private /etc/passwd and gives it a
private spool and chroot directory. OpenSMTPD always relays to port 25 of an MX, so here the
remote MX and the sink listen on port 25 of their loopback addresses.

The queue lifetime is 8 seconds (``queue ttl``), so a transient failure expires at the next retry; every
message still queued after 3 seconds gets a delay warning first (``bounce warn-interval``), and the one
kept for the delay-warning case is ``slow.test``'s.
"""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

from tests.corpus.mta.harness import CASES as POSTFIX_CASES
from tests.corpus.mta.harness import (
    Case,
    collect_by_message_id,
    submit,
    wait_for_listener,
    world_outside,
    write,
)

SMTPD = "/usr/sbin/smtpd"  # the unpacked binary, laid over /usr/sbin inside the namespace
SMTPCTL = "/usr/sbin/smtpctl"
MX_PORT = 25  # OpenSMTPD relays to an MX's port 25 only
_OWN = {
    "success-notice": Case("success-notice", (("exists@local.test", "delivered", "ignore"),), notify="SUCCESS"),
    "delay-warning": Case("delay-warning", (("greylisted@slow.test", "deferred", "ignore"),)),
    # OpenSMTPD 6.8 retries a domain with neither MX nor address, and a null MX (RFC 7505), as a temporary failure
    # ("No MX found for domain") until the message expires; its final DSN then says only "Envelope expired", so
    # nothing in it tells a reader that the domain takes no mail: an expiry, as any other
    "no-mx-no-address": Case("no-mx-no-address", (("someone@nomx.test", "bounce", "soft_transient"),)),
    "null-mx": Case("null-mx", (("someone@nullmx.test", "bounce", "soft_transient"),)),
}
# OpenSMTPD refuses an unknown local or virtual user during the SMTP session ("524 5.2.4 Mailing list expansion
# problem"), so the submitter sees the refusal and no DSN is ever written: those two cases are left out, and the
# access-table refusal, whose remote MX is a listener of the Postfix instance.
_NO_DSN = ("unknown-local-user", "unknown-virtual-user", "recipient-blocked-by-admin")
CASES = tuple(_OWN.get(case.name, case) for case in POSTFIX_CASES if case.name not in _NO_DSN)


def smtpd_conf(work: Path) -> str:
    return f"""\
queue ttl 8s
bounce warn-interval 3s
table users file:{work}/users
action "local" maildir "{work}/maildir" virtual <users>
action "relay" relay helo opensmtpd.sender.test
match from any for domain "local.test" action "local"
match from any for any action "relay"
listen on 127.0.0.1 port 2525 hostname opensmtpd.sender.test
"""


def configure(work: Path) -> Path:
    conf = work / "smtpd.conf"
    conf.write_text(smtpd_conf(work))
    (work / "users").write_text("exists@local.test nobody\n")
    (work / "maildir").mkdir()
    (work / "maildir").chmod(0o777)
    return conf


def run(work: Path, out: Path, only: set[str] | None = None) -> None:
    conf = configure(work)
    cases = [case for case in CASES if not only or case.name in only]
    with world_outside(port=MX_PORT) as sink:
        log = (work / "smtpd.log").open("wb")  # -d: in the foreground, logging to stderr (there is no syslog here)
        daemon = subprocess.Popen([SMTPD, "-d", "-v", "-f", str(conf)], stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for_listener(("127.0.0.1", 2525))
            for case in cases:
                submit(case)
            # every two seconds the scheduler is asked to retry at once, so an expired message comes back
            # without OpenSMTPD's back-off (minutes)
            written = collect_by_message_id(sink, cases, kick=[SMTPCTL, "schedule", "all"])
        finally:
            daemon.terminate()
            daemon.wait(10)
    write(out, written, "opensmtpd", _version())


def _version() -> str:
    """ "6.8.0p2" from "version: OpenSMTPD 6.8.0p2", which ``smtpd -h`` prints before its usage."""
    printed = subprocess.run([SMTPD, "-h"], capture_output=True, text=True).stderr
    return printed.split("OpenSMTPD", 1)[1].split()[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, required=True, help="an empty directory for the OpenSMTPD instance")
    parser.add_argument("--out", type=Path, required=True, help="where the DSNs and manifest.jsonl go")
    parser.add_argument("--only", nargs="*", help="these cases only (while trying a configuration)")
    args = parser.parse_args()
    run(args.work, args.out, set(args.only) if args.only else None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
