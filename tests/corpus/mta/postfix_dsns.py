"""Make a real Postfix write DSNs for failures this script causes; run by ``make_corpus.sh``, never by tests.

Inside the private network namespace ``make_corpus.sh`` opens, this starts on loopback: a DNS
server (``tests/support/dnsserver.py``) on 127.0.0.1:53 answering for the ``*.test`` domains below,
scripted aiosmtpd servers playing the remote MXs (127.0.0.2, replies per recipient), a sink
for the DSNs themselves (127.0.0.9), and a Postfix instance with its own directories. It
submits one message per case over SMTP, waits for Postfix's DSN to reach the sink, and writes
each DSN as ``postfix-<case>.eml`` with its labels in ``manifest.jsonl``. The labels are known
because the script caused each failure; nobody wrote a DSN by hand.

Two phases: first ``maximal_queue_lifetime = 0`` (Postfix returns mail after the first failed
attempt, so a transient failure expires at once: SERVFAIL, refused connection, greylisting),
then a long lifetime with ``delay_warning_time = 1s`` for the delay notice.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import time
from pathlib import Path

from tests.corpus.mta.harness import CASES, PORT, submit, wait_for, world_outside, write
from tests.support import postfix as postfix_instance


def main_cf(work: Path) -> str:
    return f"""\
compatibility_level = 3.6
queue_directory = {work}/queue
data_directory = {work}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mta.sender.test
mydomain = sender.test
myorigin = sender.test
mydestination = local.test
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
# accept every local and virtual recipient at SMTP time, so local(8) and the virtual table bounce them
local_recipient_maps =
smtpd_reject_unlisted_recipient = no
alias_maps =
alias_database =
virtual_mailbox_domains = virtual.test
virtual_mailbox_base = {work}/vmail
virtual_mailbox_maps = texthash:{work}/vmailbox
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
smtp_tcp_port = {PORT}
smtp_connect_timeout = 3s
smtputf8_enable = no
biff = no
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
maximal_queue_lifetime = 0
delay_warning_time = 0
maillog_file_prefixes = {work}
maillog_file = {work}/maillog
# the second smtpd (ACCESS_MX_CF), the remote MX of access.test: an administrator's recipient access table
access_mx_restrictions = check_recipient_access inline:{{ {{ blocked@access.test = REJECT }} }}, permit
"""


# A second smtpd, the remote MX of access.test, with its own banner: a Postfix client that meets its own
# myhostname in a greeting refuses to deliver ("mail for x loops back to myself")
ACCESS_MX_CF = (
    f"127.0.0.4:{PORT} inet n - n - - smtpd -o smtpd_recipient_restrictions=$access_mx_restrictions"
    " -o smtpd_banner=mx.access.test\n"
)
# The probe tests' service table, plus what delivering and bouncing locally needs.
MASTER_CF = (
    postfix_instance.MASTER_CF.format(port=2525)
    + "proxywrite unix - - n -  1 proxymap\nlocal     unix  - n n -  - local\n"
    + ACCESS_MX_CF
)


def postfix(work: Path, *args: str) -> None:
    subprocess.run(["postfix", "-c", str(work / "etc"), *args], check=True)


def configure(work: Path) -> None:
    etc = work / "etc"
    etc.mkdir(parents=True)
    (etc / "main.cf").write_text(main_cf(work))
    (etc / "master.cf").write_text(MASTER_CF)
    (work / "vmailbox").write_text("exists@virtual.test exists/\n")
    (work / "queue").mkdir()
    (work / "data").mkdir()
    shutil.chown(work / "data", "postfix", "postfix")
    vmail = work / "vmail"
    vmail.mkdir()
    shutil.chown(vmail, 65534, 65534)


def run(work: Path, out: Path) -> None:
    configure(work)
    with world_outside() as sink:
        postfix(work, "start")
        try:
            written = []
            for phase in (1, 2):
                if phase == 2:
                    subprocess.run(
                        [
                            "postconf",
                            "-c",
                            str(work / "etc"),
                            "-e",
                            "maximal_queue_lifetime = 1h",
                            "delay_warning_time = 1s",
                        ],
                        check=True,
                    )
                    postfix(work, "reload")
                    time.sleep(1)
                for case in (c for c in CASES if c.phase == phase):
                    before = len(sink.messages)
                    submit(case)
                    wait_for(sink, before + 1)
                    written.append((case, sink.messages[before]))
        finally:
            postfix(work, "stop")
    write(out, written, "postfix", _postfix_version())


def _postfix_version() -> str:
    return subprocess.run(
        ["postconf", "-d", "-h", "mail_version"], capture_output=True, text=True, check=True
    ).stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, required=True, help="an empty directory for the Postfix instance")
    parser.add_argument("--out", type=Path, required=True, help="where the DSNs and manifest.jsonl go")
    args = parser.parse_args()
    run(args.work, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
