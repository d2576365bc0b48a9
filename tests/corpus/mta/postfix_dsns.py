"""Make a real Postfix write DSNs for failures this script causes; run by ``make_corpus.sh``, never by tests.

Also the harness ``exim_dsns`` shares: the DNS zone, the scripted remote MX, the DSN sink, submission, and
the writing of messages and manifest lines.

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
import json
import shutil
import smtplib
import subprocess
import time
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.support import postfix as postfix_instance
from tests.support.dnsserver import DnsServer, Zone

PORT = 2526  # every scripted server listens here; Postfix's smtp_tcp_port points at it
SENDER = "sender@sender.test"
# The remote MX's reply per recipient local part: real replies of real servers
REMOTE_REPLIES = {
    # Postfix smtpd: reject_unlisted_recipient
    "gone": "550 5.1.1 <{addr}>: Recipient address rejected: User unknown in virtual mailbox table",
    # Gmail
    "full": "552 5.2.2 The email account that you tried to reach is over quota.",
    "disabled": "550 5.2.1 The email account that you tried to reach is disabled.",
    # Postfix smtpd: reject_rbl_client
    "rbl": "554 5.7.1 Service unavailable; Client host [127.0.0.1] blocked using zen.spamhaus.org;"
    " https://www.spamhaus.org/query/ip/127.0.0.1",
    # Postgrey
    "greylisted": "450 4.7.1 <{addr}>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/",
    "ok": "250 2.1.5 Ok",
}


@dataclass(frozen=True)
class Case:
    name: str
    recipients: tuple[tuple[str, str, str], ...]  # (address, expected event, expected policy category)
    phase: int = 1
    notify: str | None = None  # RFC 3461 NOTIFY= for every recipient


CASES = (
    Case("unknown-local-user", (("nosuchuser@local.test", "bounce", "hard_invalid"),)),
    Case("unknown-virtual-user", (("nosuchuser@virtual.test", "bounce", "hard_invalid"),)),
    Case("relayed-550-511", (("gone@relay.test", "bounce", "hard_invalid"),)),
    Case("relayed-552-522-full", (("full@relay.test", "bounce", "soft_mailbox"),)),
    Case("relayed-550-521-disabled", (("disabled@relay.test", "bounce", "disabled"),)),
    Case("relayed-554-571-rbl", (("rbl@relay.test", "bounce", "sender_problem"),)),
    Case("nxdomain", (("someone@nxdomain.test", "bounce", "hard_invalid"),)),
    Case("no-mx-no-address", (("someone@nomx.test", "bounce", "hard_invalid"),)),
    Case("null-mx", (("someone@nullmx.test", "bounce", "hard_invalid"),)),
    Case("servfail-expired", (("someone@servfail.test", "bounce", "soft_transient"),)),
    Case("connection-refused-expired", (("someone@refused.test", "bounce", "soft_transient"),)),
    Case("greylisting-expired", (("greylisted@relay.test", "bounce", "soft_transient"),)),
    Case(
        "multi-recipient",
        (
            ("gone@relay.test", "bounce", "hard_invalid"),
            ("full@relay.test", "bounce", "soft_mailbox"),
            ("someone@nxdomain.test", "bounce", "hard_invalid"),
        ),
    ),
    # The remote MX is a real Postfix smtpd (a second listener of this instance, below) whose administrator listed
    # the recipient in check_recipient_access with a bare REJECT: Postfix's own default text (access(5)) refuses
    # that address whoever sends, as a departed employee's is refused
    Case("recipient-blocked-by-admin", (("blocked@access.test", "bounce", "hard_invalid"),)),
    Case("success-notice", (("exists@virtual.test", "delivered", "ignore"),), notify="SUCCESS"),
    Case("delay-warning", (("greylisted@relay.test", "deferred", "ignore"),), phase=2),
)


def zone() -> Zone:
    records = Zone()
    records.mx("relay.test", 10, "mx.relay.test")
    records.a("mx.relay.test", "127.0.0.2")
    records.mx("refused.test", 10, "mx.refused.test")
    records.a("mx.refused.test", "127.0.0.3")  # nothing listens there: connection refused
    records.txt("nomx.test", "v=spf1 -all")  # the name exists, with neither MX nor A (RFC 5321 §5.1)
    records.mx("nullmx.test", 0, ".")  # RFC 7505
    records.servfail("servfail.test")
    records.mx("access.test", 10, "mx.access.test")
    records.a("mx.access.test", "127.0.0.4")  # this Postfix's second smtpd (ACCESS_MX_CF)
    records.mx("sender.test", 10, "mx.sender.test")
    records.a("mx.sender.test", "127.0.0.9")
    return records  # every other name (nxdomain.test) is NXDOMAIN


class RemoteMx:
    """The remote MX: answers each RCPT from REMOTE_REPLIES by local part; accepts DATA for the rest."""

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        reply = REMOTE_REPLIES.get(address.partition("@")[0].lower(), REMOTE_REPLIES["ok"])
        if reply.startswith("2"):
            envelope.rcpt_tos.append(address)
        return reply.format(addr=address)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        return "250 2.0.0 Ok: queued"


class DsnSink:
    """Where the DSNs arrive (the sender's MX): keeps every message whole."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.messages.append(envelope.original_content or b"")
        return "250 2.0.0 Ok: kept"


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


def submit(case: Case, port: int = 2525) -> None:
    message = EmailMessage()
    message["From"] = f"Sender <{SENDER}>"
    message["To"] = ", ".join(address for address, _, _ in case.recipients)
    message["Subject"] = f"corpus case {case.name}"
    message["Message-ID"] = f"<{case.name}@sender.test>"
    message.set_content(f"This message was sent to cause the case {case.name}.\n")
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        options = [f"NOTIFY={case.notify}"] if case.notify else []
        client.send_message(message, SENDER, [a for a, _, _ in case.recipients], rcpt_options=options)


def wait_for(sink: DsnSink, count: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while len(sink.messages) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(sink.messages)} of {count} DSNs arrived")
        time.sleep(0.2)


def run(work: Path, out: Path) -> None:
    configure(work)
    dns = DnsServer(zone(), host="127.0.0.1", port=53)  # the one resolv.conf names, inside the namespace
    remote, sink_handler = RemoteMx(), DsnSink()
    remote_mx = Controller(remote, hostname="127.0.0.2", port=PORT)
    sink = Controller(sink_handler, hostname="127.0.0.9", port=PORT)
    remote_mx.start()
    sink.start()
    with dns:
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
                    before = len(sink_handler.messages)
                    submit(case)
                    wait_for(sink_handler, before + 1)
                    written.append((case, sink_handler.messages[before]))
        finally:
            postfix(work, "stop")
            remote_mx.stop()
            sink.stop()
    write(out, written, "postfix", _postfix_version())


def write(out: Path, written: list[tuple[Case, bytes]], mta: str, version: str) -> None:
    """``<mta>-<case>.eml`` files and their manifest lines; the other MTAs' files and lines are kept."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob(f"{mta}-*.eml"):
        old.unlink()
    manifest = out / "manifest.jsonl"
    kept = [
        line
        for line in (manifest.read_text().splitlines() if manifest.exists() else [])
        if line.strip() and not json.loads(line)["file"].startswith(f"{mta}-")
    ]
    lines = []
    for case, raw in written:
        name = f"{mta}-{case.name}.eml"
        (out / name).write_bytes(raw)
        for address, event, category in case.recipients:
            lines.append(
                json.dumps(
                    {
                        "file": name,
                        "recipient": address,
                        "event": event,
                        "category": category,
                        "mta": f"{mta} {version}",
                    }
                )
            )
    manifest.write_text("\n".join(sorted(kept + lines, key=lambda line: json.loads(line)["file"])) + "\n")


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
