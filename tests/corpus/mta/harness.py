"""The harness the real-MTA corpus scripts share (``postfix_dsns``, ``exim_dsns``, ``opensmtpd_dsns``, ...).

The cases and what each should give, the DNS zone of the ``*.test`` domains, the scripted remote MX
(replies per recipient), the sink the DSNs arrive at, submission, and the writing of messages and
manifest lines. Run inside ``make_corpus.sh``'s private network namespaces only, never by tests.
"""

from __future__ import annotations

import json
import smtplib
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.support.dnsserver import DnsServer, Zone
from tests.support.processes import listening

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
    records.mx("slow.test", 10, "mx.relay.test")  # the greylisting MX, under a domain Exim retries for long
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


def wait_for_listener(address: tuple[str, int], seconds: float = 15) -> None:
    """The daemon returns before it listens: poll the port."""
    if not listening(address, seconds):
        raise TimeoutError(f"nothing listens on {address[0]}:{address[1]}")


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


def collect_by_message_id(
    sink: DsnSink, cases: list[Case], kick: list[str] | None = None, seconds: float = 120
) -> list[tuple[Case, bytes]]:
    """Each case's DSNs, told apart by the copy of the original message they return (its Message-ID names the
    case): the final ones, or the delay warning for the case that waits for one. An MTA may report the
    recipients of one message in as many DSNs as its deliveries ended at different times (the three-recipient
    case: the dead domain at once, the relayed two later), so a DSN that names only some of a case's recipients
    is kept as a case of its own, ``<case>-<n>``. ``kick``, when given, runs every two seconds (a command that
    makes the MTA retry its queue at once)."""
    deadline = time.monotonic() + seconds
    while True:
        time.sleep(2)
        if kick:
            subprocess.run(kick, check=False, capture_output=True)
        found = [(case, _dsns_of(case, sink.messages)) for case in cases]
        if all(_covered(case, dsns) for case, dsns in found):
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"no DSN for {[case.name for case, dsns in found if not _covered(case, dsns)]}")
    written = []
    for case, dsns in found:
        # in the order of the case's recipients, whichever DSN arrived first: the names do not change between runs
        parts = [(tuple(r for r in case.recipients if _names(raw, r[0])), raw) for raw in dsns]
        parts.sort(key=lambda part: case.recipients.index(part[0][0]))  # each names one at least (_covered)
        for index, (named, raw) in enumerate(parts):
            written.append((Case(case.name if index == 0 else f"{case.name}-{index + 1}", named), raw))
    return written


def _dsns_of(case: Case, messages: list[bytes]) -> list[bytes]:
    # OpenSMTPD 6.8 reports an expired envelope in its delay template (Action: delayed, "Envelope expired")
    wanted_warning = case.name == "delay-warning"
    return [
        raw
        for raw in messages
        if f"<{case.name}@sender.test>".encode() in raw
        and (b"Action: delayed" in raw and b"Envelope expired" not in raw) == wanted_warning
    ]


def _names(raw: bytes, address: str) -> bool:
    return f"final-recipient: rfc822; {address}".encode() in raw.lower()  # Sendmail writes "RFC822"


def _covered(case: Case, dsns: list[bytes]) -> bool:
    return all(any(_names(raw, address) for raw in dsns) for address, _, _ in case.recipients)


@contextmanager
def world_outside(port: int = PORT) -> Iterator[DsnSink]:
    """Everything the MTA talks to, on loopback inside the namespace: DNS for the ``*.test`` zone on 127.0.0.1:53
    (the server resolv.conf names there), the scripted remote MX on 127.0.0.2 and the DSN sink on 127.0.0.9, both
    on ``port``. Yields the sink."""
    sink = DsnSink()
    servers = [
        Controller(RemoteMx(), hostname="127.0.0.2", port=port),
        Controller(sink, hostname="127.0.0.9", port=port),
    ]
    with DnsServer(zone(), host="127.0.0.1", port=53):
        for server in servers:
            server.start()
        try:
            yield sink
        finally:
            for server in servers:
                server.stop()
