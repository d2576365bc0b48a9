"""Make a real Courier (Debian's courier-mta, unpacked, not installed) write DSNs for failures we cause.

Courier is a family the development corpus (``../shared/corpora/bounces``) has no message from, so its
DSNs are read by rules that never saw its wording: ``python -m bench bounces`` reports them apart, as an
unseen family. Run by ``make_corpus.sh`` inside the same kind of private network and mount namespace as
``postfix_dsns``, with the cases, DNS zone, scripted remote MX, DSN sink and manifest writer of ``harness``.
Its package conflicts with Postfix's (both provide ``mail-transport-agent``), so ``make_corpus.sh`` unpacks
it and its authentication library with ``dpkg -x`` and, inside the mount namespace only, lays them over
/usr/sbin, /usr/bin, /usr/lib and /etc (read-only), binds a writable copy of the package's /etc/courier there, adds
its ``courier`` user to a private /etc/passwd and gives it a private /var/lib and /run. Courier's paths are
compiled in, hence the overlays. Courier relays to an MX's port 25 only (a fixed port needs a fixed relay,
which would skip the MX lookups the cases need), so the remote MX and the sink listen on port 25 of their
loopback addresses.

The queue lifetime is 8 seconds (``queuetime``), retries are a second apart (``retryalpha``,
``retrygamma``), and every message still queued after 3 seconds gets a delay warning (``warntime``); the
one kept for the delay-warning case is ``slow.test``'s. Courier's first attempt at the SERVFAIL domain and
at the refusing host logs "DNS lookup failed." and "Connection refused"; its retries a second later log
"Network is down" (as its log shows with a syslog listener; why, the log does not say), and that last
reason is the one its final DSN quotes. Courier writes 5.0.0 in every failed DSN here, whatever the reply.
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

ETC = Path("/etc/courier")  # the writable copy make_corpus.sh binds there
LIBEXEC = Path("/usr/lib/courier")
MX_PORT = 25  # Courier relays to an MX's port 25 only
_OWN = {
    # the remote MX accepts and offers no DSN extension, so Courier reports the success as "relayed"
    "success-notice": Case("success-notice", (("exists@relay.test", "delivered", "ignore"),), notify="SUCCESS"),
    "delay-warning": Case("delay-warning", (("greylisted@slow.test", "deferred", "ignore"),)),
}
# Courier looks a local recipient up during the SMTP session (through its authentication library's daemon, which
# this instance does not run: it answers "450 Service temporarily unavailable"), so the submitter sees the refusal
# and no DSN is written; the access-table refusal's remote MX is a listener of the Postfix instance
_NO_DSN = ("unknown-local-user", "unknown-virtual-user", "recipient-blocked-by-admin")
CASES = tuple(_OWN.get(case.name, case) for case in POSTFIX_CASES if case.name not in _NO_DSN)

# control files of courier(8), one line each
_CONTROL = {
    "me": "courier.sender.test",
    "defaultdomain": "sender.test",
    "queuetime": "8s",
    "warntime": "3s",
    "retryalpha": "1s",
    "retrybeta": "3",
    "retrygamma": "1s",
    "retrymaxdelta": "0",
    "esmtptimeoutconnect": "3",
}
# appended to the package's esmtpd: a later assignment wins when the start script sources it
_ESMTPD = "PORT=2525\nADDRESS=127.0.0.1\n"


def configure() -> None:
    for name, text in _CONTROL.items():
        (ETC / name).write_text(text + "\n")
    (ETC / "smtpaccess" / "default").write_text("127.0.0.1\tallow,RELAYCLIENT\n")
    with (ETC / "esmtpd").open("a") as esmtpd:
        esmtpd.write(_ESMTPD)
    for tool in ("makesmtpaccess", "makealiases", "makeacceptmailfor", "makehosteddomains"):
        subprocess.run([str(LIBEXEC / tool)], check=True, capture_output=True)


def run(work: Path, out: Path, only: set[str] | None = None) -> None:
    configure()
    cases = [case for case in CASES if not only or case.name in only]
    with world_outside(port=MX_PORT) as sink:
        log = (work / "courierd.log").open("wb")
        env = {"PATH": "/usr/bin:/bin:/usr/sbin:/sbin"}
        # what courierctl.start does, in the foreground: courierd reads its settings from the environment
        daemon = subprocess.Popen(
            ["/bin/sh", "-c", f"set -a; . {ETC}/courierd; exec {LIBEXEC}/courier/courierd"],
            cwd="/usr",
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        subprocess.run([str(LIBEXEC / "esmtpd"), "start"], check=True, env=env)
        try:
            wait_for_listener(("127.0.0.1", 2525))
            for case in cases:
                submit(case)
            written = collect_by_message_id(sink, cases)
        finally:
            subprocess.run([str(LIBEXEC / "esmtpd"), "stop"], check=False, env=env)
            # courierd's queue manager runs as a child, as the courier user: ``courier stop`` ends both
            subprocess.run(["/usr/sbin/courier", "stop"], check=False, env=env)
            daemon.wait(10)
    write(out, written, "courier", _version())


def _version() -> str:
    """ "1.0.16" from "Courier 1.0.16 Copyright ...", which ``courier --version`` prints."""
    printed = subprocess.run(["/usr/sbin/courier", "--version"], capture_output=True, text=True)
    return (printed.stdout + printed.stderr).split()[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, required=True, help="an empty directory for the Courier instance")
    parser.add_argument("--out", type=Path, required=True, help="where the DSNs and manifest.jsonl go")
    parser.add_argument("--only", nargs="*", help="these cases only (while trying a configuration)")
    args = parser.parse_args()
    run(args.work, args.out, set(args.only) if args.only else None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
