"""Make a real Sendmail (Debian's sendmail-bin 8.17, unpacked, not installed) write DSNs for failures we cause.

Run by ``make_corpus.sh`` inside the same kind of private network and mount namespace as ``postfix_dsns``,
with the cases, DNS zone, scripted remote MX, DSN sink and manifest writer of ``harness``, and a UTS
namespace whose host name is ``sendmail.sender.test`` (Sendmail waits for its own name to resolve). Its
package conflicts with Postfix's (both provide ``mail-transport-agent``), so the script unpacks it with
``dpkg -x`` and runs the binary from there with a configuration built by m4 from the package's own
``cf`` macros; the SMTP mailer connects to the remote MXs on the harness's port.

Every message still queued after 3 seconds gets a delay warning (``Timeout.queuewarn``) and is returned
after 8 (``Timeout.queuereturn``); the delay-warning case keeps ``slow.test``'s warning. Sendmail refuses
an unknown local user during the SMTP session, so it writes no DSN for one (left out, as are the
Postfix-only cases).
"""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

from tests.corpus.mta.harness import CASES as POSTFIX_CASES
from tests.corpus.mta.harness import (
    PORT,
    Case,
    collect_by_message_id,
    submit,
    wait_for_listener,
    world_outside,
    write,
)

_OWN = {
    # the remote MX accepts and offers no DSN extension, so Sendmail reports the success as "relayed"
    "success-notice": Case("success-notice", (("exists@relay.test", "delivered", "ignore"),), notify="SUCCESS"),
    "delay-warning": Case("delay-warning", (("greylisted@slow.test", "deferred", "ignore"),)),
}
_NO_DSN = ("unknown-local-user", "unknown-virtual-user", "recipient-blocked-by-admin")
CASES = tuple(_OWN.get(case.name, case) for case in POSTFIX_CASES if case.name not in _NO_DSN)


def sendmail_mc(work: Path, cf: Path) -> str:
    return f"""\
include(`{cf}/m4/cf.m4')dnl
VERSIONID(`validator real-MTA corpus')dnl
OSTYPE(`linux')dnl
define(`confDOMAIN_NAME', `sendmail.sender.test')dnl
define(`QUEUE_DIR', `{work}/mqueue')dnl
define(`confPID_FILE', `{work}/sendmail.pid')dnl
define(`STATUS_FILE', `{work}/statistics')dnl
define(`ALIAS_FILE', `{work}/aliases')dnl
define(`confTO_QUEUEWARN', `3s')dnl
define(`confTO_QUEUERETURN', `8s')dnl
define(`confTO_CONNECT', `3s')dnl
define(`confMIN_QUEUE_AGE', `0')dnl
define(`SMTP_MAILER_ARGS', `TCP $h {PORT}')dnl
define(`ESMTP_MAILER_ARGS', `TCP $h {PORT}')dnl
DAEMON_OPTIONS(`Port=2525, Addr=127.0.0.1, Name=MTA')dnl
FEATURE(`promiscuous_relay')dnl
FEATURE(`accept_unresolvable_domains')dnl
MAILER(`local')dnl
MAILER(`smtp')dnl
"""


def configure(work: Path, cf: Path) -> Path:
    (work / "mqueue").mkdir(mode=0o700)
    (work / "aliases").write_text("postmaster: root\n")
    (work / "statistics").touch()
    mc = work / "sendmail.mc"
    mc.write_text(sendmail_mc(work, cf))
    config = work / "sendmail.cf"
    config.write_bytes(subprocess.run(["m4", str(mc)], capture_output=True, check=True).stdout)
    config.chmod(0o644)
    return config


def run(work: Path, out: Path, sendmail: Path, cf: Path, only: set[str] | None = None) -> None:
    config = configure(work, cf)
    cases = [case for case in CASES if not only or case.name in only]
    subprocess.run([str(sendmail), "-C", str(config), "-bi"], check=False, capture_output=True)  # newaliases
    with world_outside() as sink:
        log = (work / "sendmail.log").open("wb")
        daemon = subprocess.Popen(
            [str(sendmail), "-C", str(config), "-bD", "-q1s", "-O", "LogLevel=14", "-X", str(work / "trace")],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for_listener(("127.0.0.1", 2525))
            for case in cases:
                submit(case)
            written = collect_by_message_id(sink, cases)
        finally:
            daemon.terminate()
            daemon.wait(10)
    write(out, written, "sendmail", _version(sendmail, config))


def _version(sendmail: Path, config: Path) -> str:
    """ "8.17.1.9" from the "Version 8.17.1.9" line of ``sendmail -d0.1 -bt``."""
    printed = subprocess.run(
        [str(sendmail), "-C", str(config), "-d0.1", "-bt"], input="", capture_output=True, text=True
    ).stdout
    return next(line.split()[1] for line in printed.splitlines() if line.startswith("Version "))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, required=True, help="an empty directory for the Sendmail instance")
    parser.add_argument("--out", type=Path, required=True, help="where the DSNs and manifest.jsonl go")
    parser.add_argument("--sendmail", type=Path, required=True, help="the unpacked sendmail binary")
    parser.add_argument("--cf", type=Path, required=True, help="the unpacked sendmail-cf macro directory")
    parser.add_argument("--only", nargs="*", help="these cases only (while trying a configuration)")
    args = parser.parse_args()
    run(args.work, args.out, args.sendmail, args.cf, set(args.only) if args.only else None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
