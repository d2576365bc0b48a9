"""Complaints: RFC 5965 feedback reports, Microsoft's pre-ARF JMRP reports, mailto unsubscribe requests.

A complaint names the complainer only where the report says so: ``Original-Rcpt-To``
(RFC 5965 §3.2), else the ``To`` of the returned original. Providers may redact both
(RFC 6650 §5); then there is no one to attribute it to and the reader says so. Pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message

from validator.bounces.readers.addresses import addresses_in
from validator.bounces.readers.dsn import field_blocks
from validator.bounces.readers.mime import Report, header_text


@dataclass(frozen=True, slots=True)
class Complaint:
    recipients: list[str]
    feedback_type: str  # RFC 5965 §3.1 / RFC 6650 §7: abuse, fraud, virus, other, not-spam, auth-failure, opt-out
    arrival: str | None
    unsubscribe: bool = False  # a list-unsubscribe request rather than a complaint


# Hotmail's Junk Mail Reporting Program (before ARF): From staff@hotmail.com,
# "Subject: complaint about message from 192.0.2.222", the reported message attached as message/rfc822.
_JMRP_SUBJECT = re.compile(r"^complaint about message from", re.IGNORECASE)
# Apple Mail's unsubscribe button mails the List-Unsubscribe mailto (RFC 2369 §3.2) with "Subject: unsubscribe"
# and "Auto-Submitted: auto-replied": "Apple Mail sent this email to unsubscribe from the message ..."
_UNSUBSCRIBE_BODY = re.compile(r"sent this (?:e-?mail|message) to unsubscribe", re.IGNORECASE)


def read_complaint(report: Report) -> Complaint | None:
    """The complaint this message is, or None when it is not one."""
    reports = report.parts_of("message/feedback-report")
    if reports:
        fields: dict[str, str] = {}
        for block in field_blocks(reports[0]):
            for name, value in block.items():
                fields.setdefault(name, value)
        return _arf(report, fields)
    if _JMRP_SUBJECT.match(report.header("Subject")) and report.original is not None:
        return Complaint(_original_recipients(report), "abuse", report.header("Date") or None)
    if report.header("Subject").strip().lower() == "unsubscribe" and _UNSUBSCRIBE_BODY.search(report.notice):
        return Complaint(addresses_in(report.header("From"))[:1], "opt-out", report.header("Date") or None, True)
    return None


def _arf(report: Report, fields: dict[str, str]) -> Complaint:
    # RFC 5965 §3.2: Original-Rcpt-To may repeat, one address per field
    # early ARF drafts' opt-out reports: "Removal-Recipient: user@example.com"
    recipients = (
        _all_rcpt_to(report)
        or addresses_in(fields.get("original-rcpt-to", ""))
        or addresses_in(fields.get("removal-recipient", ""))
        or _original_recipients(report)
    )
    feedback = (fields.get("feedback-type", "").strip().lower().split() or ["abuse"])[0]
    return Complaint(recipients, feedback, fields.get("arrival-date") or fields.get("received-date"))


def _all_rcpt_to(report: Report) -> list[str]:
    reports = report.parts_of("message/feedback-report")
    payload = reports[0].get_payload() if reports else None
    blocks = [b for b in payload if isinstance(b, Message)] if isinstance(payload, list) else []
    return addresses_in(" ".join(str(v) for b in blocks for v in b.get_all("Original-Rcpt-To", [])))


def _original_recipients(report: Report) -> list[str]:
    return addresses_in(header_text(report.original, "To")) if report.original is not None else []
