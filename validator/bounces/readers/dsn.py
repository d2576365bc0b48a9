"""RFC 3464 delivery status notifications: per-recipient fields in, ``Delivery`` records out.

Reads the ``message/delivery-status`` part (RFC 3464 §2; ``message/global-delivery-status``,
RFC 6533), or the same fields written as plain text by MTAs that do not build the MIME
structure. Only the status part and the notice are read: never the returned original.
Pure and total: malformed fields yield fewer records, never an exception.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message

from validator.bounces.facts import DsnAction, StatusSource
from validator.bounces.readers.addresses import first_address
from validator.bounces.readers.mentions import Mentions
from validator.bounces.readers.mime import Report, part_text

_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_FIELD = re.compile(r"^([A-Za-z][A-Za-z0-9-]{1,40})\s*:\s?(.*)$")
_PER_RECIPIENT = {"final-recipient", "original-recipient", "action", "status", "diagnostic-code"}
# RFC 3464 §2.3.3 actions; OpenSMTPD writes "error" and some gateways "failure" for failed.
_ACTIONS = {
    "failed": DsnAction.FAILED,
    "failure": DsnAction.FAILED,
    "error": DsnAction.FAILED,
    "delayed": DsnAction.DELAYED,
    "delivered": DsnAction.DELIVERED,
    "relayed": DsnAction.RELAYED,
    "expanded": DsnAction.EXPANDED,
    # Postfix address verification (sendmail -bv) reports "Action: deliverable" / "undeliverable"
    "deliverable": DsnAction.DELIVERED,
    "undeliverable": DsnAction.FAILED,
}


@dataclass(frozen=True, slots=True)
class Delivery:
    """One per-recipient block, as the report states it."""

    recipient: str
    action: DsnAction
    status: str | None  # the reporting MTA's Status: field
    diagnostic: str | None  # Diagnostic-Code without its type, or the notice's words about the recipient
    diagnostic_type: str | None  # "smtp", "x-unix", "x-postfix", ...
    remote_mta: str | None
    arrival: str | None  # Arrival-Date, else Last-Attempt-Date, as written
    context: str | None  # the notice's paragraph about the recipient (Postfix: "... (in reply to RCPT TO command)")


def read_deliveries(report: Report) -> list[Delivery]:
    """Every recipient block that names an address; the order of the report."""
    blocks = _status_blocks(report)
    per_message = next((b for b in blocks if "reporting-mta" in b or "arrival-date" in b), {})
    recipients = [r for r in map(_recipient, blocks) if r is not None]
    mentions = Mentions(report.notice, recipients)  # searched once for all of them, not once per block
    found = []
    for block in blocks:
        recipient = _recipient(block)
        if recipient is None:
            continue
        diagnostic, kind = _diagnostic(block)
        context = _notice_words(mentions, recipient)
        if diagnostic is None:
            diagnostic = context
        found.append(
            Delivery(
                recipient=recipient,
                action=_action(block),
                status=_status(block.get("status", "")),
                diagnostic=diagnostic,
                diagnostic_type=kind,
                remote_mta=_mta(block.get("remote-mta", "")) or None,
                # when the original reached the reporting MTA: nearest to the send, which soft streaks count
                arrival=per_message.get("arrival-date") or block.get("last-attempt-date"),
                context=context,
            )
        )
    return found


def status_and_source(delivery_status: str | None, remote: str | None) -> tuple[str | None, StatusSource | None]:
    """A specific code in the remote server's text beats the reporting MTA's Status (RFC 3464 §2.3.4: Status is
    the reporting MTA's reading; §2.3.6: Diagnostic-Code is the remote's own reply)."""
    if remote and delivery_status and remote[0] != delivery_status[0]:
        return delivery_status, StatusSource.REPORTING_MTA  # "Status: 5.4.7" after "451 4.4.0 ...": the final word
    if remote and not remote.endswith(".0.0"):
        return remote, StatusSource.REMOTE
    if delivery_status:
        return delivery_status, StatusSource.REPORTING_MTA
    return (remote, StatusSource.REMOTE) if remote else (None, None)


def _status_blocks(report: Report) -> list[dict[str, str]]:
    for part in report.parts_of("message/delivery-status", "message/global-delivery-status"):
        blocks = field_blocks(part)
        if any(_is_recipient_block(b) for b in blocks):
            return blocks
    # The fields as text: MTAs that write them into the body ("Final-Recipient: rfc822; x@example.com"),
    # a multipart/report whose boundary parameter is lost, a bounce forwarded inside another message
    for text in (report.notice, report.body):
        blocks = parse_fields(text)
        if any(_is_recipient_block(b) and ("action" in b or "status" in b) for b in blocks):
            return blocks
    return []


def field_blocks(part: Message) -> list[dict[str, str]]:
    """The field blocks of a status part, whether the email package split them into messages or not."""
    payload = part.get_payload()
    if not isinstance(payload, list):
        return parse_fields(part_text(part))
    lines: list[str] = []
    for block in payload:
        if isinstance(block, Message):
            lines += [f"{name}: {' '.join(str(value).split())}" for name, value in block.items()]
            body = block.get_payload()
            lines += [body] if isinstance(body, str) else []  # a malformed block may carry fields in its body
            lines.append("")
    return parse_fields("\n".join(lines))


def parse_fields(text: str) -> list[dict[str, str]]:
    """RFC 3464 §2.1 blocks: fields, continuation lines, blank lines between blocks.

    A repeated field also starts a block: AOL writes its recipient blocks with no blank line between
    ("Diagnostic-Code: smtp; 550 5.2.2 ... Mailbox Full" then "Final-Recipient: rfc822; ..." at once).
    """
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    last = None
    for line in text.splitlines()[:4000]:
        if not line.strip():
            if current:
                blocks.append(current)
            current, last = {}, None
            continue
        if line[0] in " \t" and last is not None:
            current[last] += " " + line.strip()
            continue
        match = _FIELD.match(line)
        if match is None:
            last = None
            continue
        last = match.group(1).lower()
        if last in current and last in _PER_RECIPIENT:
            blocks.append(current)
            current = {}
        current[last] = match.group(2).strip()
    if current:
        blocks.append(current)
    return blocks


def _is_recipient_block(block: dict[str, str]) -> bool:
    return "final-recipient" in block or "original-recipient" in block


def _recipient(block: dict[str, str]) -> str | None:
    # Final-Recipient is the address the remote server refused; Original-Recipient (RFC 3461 ORCPT)
    # the one we sent to before aliasing: the first found of these wins.
    for name in ("final-recipient", "original-recipient", "x-actual-recipient"):
        value = block.get(name, "")
        address = first_address(value.partition(";")[2] or value)
        if address is not None:
            return address
    return None


def _action(block: dict[str, str]) -> DsnAction:
    action = _ACTIONS.get(block.get("action", "").strip().lower().split(" ")[0] if block.get("action") else "")
    if action is not None:
        return action
    status = _status(block.get("status", ""))  # no usable Action: the status class decides
    return DsnAction.DELIVERED if status and status.startswith("2") else DsnAction.FAILED


def _status(value: str) -> str | None:
    match = _STATUS.search(value)
    return ".".join(match.groups()) if match else None


def _diagnostic(block: dict[str, str]) -> tuple[str | None, str | None]:
    value = block.get("diagnostic-code", "").strip()
    if not value:
        return None, None
    kind, sep, text = value.partition(";")
    if sep and re.fullmatch(r"[\w.-]{1,30}", kind.strip()):
        return text.strip() or None, kind.strip().lower()
    return value, None


def _mta(value: str) -> str:
    return (value.partition(";")[2] or value).strip().strip("[]")


# Postfix notice: "<x@example.com>: host mx.example.com[192.0.2.1] said: 550 5.1.1 ... (in reply to RCPT TO command)";
# Sendmail: "<x@example.net>\n\n   ----- Transcript of session follows -----\nmail.local: unknown user: x"
def _notice_words(mentions: Mentions, recipient: str) -> str | None:
    """The notice's words about the recipient: from its first mention to the next recipient's, at most 800
    characters."""
    at = mentions.first(recipient)
    if at < 0:
        return None
    after = mentions.next_other(recipient, at + len(recipient))
    end = min(at + 800, after) if after is not None else at + 800
    words = " ".join(mentions.notice[at:end].split())
    return words if len(words) > len(recipient) + 4 else None
