"""``read_message(raw) -> list[BounceFact]``: one raw report message in, one fact per recipient out.

Readers are tried most-authoritative first, and the first that recognises the message answers
alone (as flufl.bounce 6's ordered detector list does): RFC 3464 DSN (``dsn``), RFC 5965 complaint (``arf``), an
Amazon SES notification mailed by SNS (``ses``), a non-standard MTA bounce (``mta``), an RFC 3834
auto-reply (``autoreply``). Ordinary mail gives
``[]``; bytes that are no mail message, or a bounce naming no recipient, raise
``UnparseableMessage``, and nothing else is ever raised. Every reply goes through
``classify.reason_of``, the rule set JSON events and webhooks use too. Pure: bytes in, no I/O.
"""

from __future__ import annotations

import email
import email.policy
import re

from validator.bounces.classify import notice_says_disabled, reason_of
from validator.bounces.facts import BounceFact, BounceReason, DsnAction, EventKind, StatusSource
from validator.bounces.readers import arf, autoreply, dsn, mta, ses
from validator.bounces.readers.addresses import addresses_in, first_address
from validator.bounces.readers.mime import Report, timestamp_of
from validator.bounces.readers.trim import trim_message
from validator.bounces.reply_parts import smtp_command
from validator.errors import UnparseableMessage
from validator.smtp_reply import Reply, parse_reply

_MAX_BYTES = 10 * 1024 * 1024  # a bounce returns at most the original's headers and body: 10 MB is plenty
# RFC 5322 §3.6: fields every mail message a reporting system emits carries at least one of
_MAIL_FIELDS = ("from", "to", "date", "subject", "message-id", "received", "content-type", "return-path")


def read_message(raw: bytes | bytearray) -> list[BounceFact]:
    """The facts one raw message states; raises only ``UnparseableMessage``."""
    try:
        return _read(raw)
    except UnparseableMessage:
        raise
    except Exception as exc:  # the email package's corners on hostile bytes: a total function says so in one type
        raise UnparseableMessage(f"cannot read this message: {type(exc).__name__}") from exc


def _read(raw: bytes | bytearray | memoryview) -> list[BounceFact]:
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise UnparseableMessage("a raw message must be bytes")
    if isinstance(raw, memoryview):
        raw = bytes(raw)  # a bytearray is read in place: a copy of a large message is what must not happen
    if len(raw) > _MAX_BYTES:
        raise UnparseableMessage(f"message larger than {_MAX_BYTES} bytes")
    # the email package costs 10 to 65 times what it parses: it sees the bounded part the readers look at
    message = email.message_from_bytes(trim_message(raw), policy=email.policy.compat32)
    if not any(name.lower() in _MAIL_FIELDS for name in message.keys()):
        raise UnparseableMessage("not a mail message: no header fields")
    report = Report.of(message, raw)
    deliveries = dsn.read_deliveries(report)
    if deliveries:  # none from a status part naming no address ("Final-Recipient: RFC822; @mx.example.org"): read on
        return _from_dsn(report, deliveries)
    complaint = arf.read_complaint(report)
    if complaint is not None:
        return _required(_from_complaint(report, complaint))
    notification = ses.notification_in(report.notice)
    if notification is not None:  # the webhook's reader: the same notification gives the same facts either way
        facts, _ = ses.read_ses(notification)
        return _required(facts) if ses.kind_of(notification) in ses.REPORTS else facts
    auto = autoreply.is_auto_reply(report)
    # MTAs mark bounces auto-replied too (Exim: "Auto-Submitted: auto-replied"): the mail system's signs win.
    # Without them two signs are needed, so a person's "Re: your offer was rejected" is not read as a bounce.
    signs = report.looks_like_bounce() + report.says_undelivered() + report.quotes_reply() + report.null_sender()
    if report.from_mail_system() or (not auto and (signs >= 2 or report.names_undelivered())):
        return _required(_from_failures(report))
    if auto:
        return _required(_from_auto_reply(report))
    return []


def _required(facts: list[BounceFact]) -> list[BounceFact]:
    if not facts:
        raise UnparseableMessage("a report naming no recipient this reader can find")
    return facts


def _from_dsn(report: Report, deliveries: list[dsn.Delivery]) -> list[BounceFact]:
    facts = []
    for delivery in deliveries:
        reply = _reply(delivery.diagnostic, delivery.diagnostic_type)
        status, source = dsn.status_and_source(delivery.status, reply.enhanced)
        action = _final_if_expired(delivery.action, delivery.diagnostic)
        event = _EVENTS.get(action, EventKind.DELIVERED)
        if event is EventKind.DELIVERED:
            reason = BounceReason.DELIVERED
        elif delivery.diagnostic_type == "x-unix":  # RFC 3464 §2.3.6: a local program's exit status, no SMTP reply
            # unless its words say the mailbox is full: "X-Unix; Quota exceeded message delivery failed to /var/mail/x"
            worded = reason_of(Reply(None, None, delivery.diagnostic or ""))
            reason = worded if worded is BounceReason.MAILBOXFULL else BounceReason.MAILERERROR
        else:
            command = smtp_command(delivery.diagnostic or "") or smtp_command(delivery.context or "")
            # the remote server's words decide; a gateway's own label before them does not ("5.1.0 - Unknown
            # address error 550-'5.7.1 ... Access denied'" is Amazon SES's label around a 5.7.1 reply)
            from_field = delivery.diagnostic is not delivery.context  # else the notice's prose, kept whole
            words = reply.text if reply.code and from_field else delivery.diagnostic or ""
            reason = reason_of(Reply(reply.code, status, words), command=command)
            reason = _given_up(reason, action, reply.code, status)
            if reason in _VAGUE and len(deliveries) == 1 and notice_says_disabled(report.notice):
                reason = BounceReason.SUSPEND
        facts.append(
            _fact(
                report,
                delivery.recipient,
                event,
                reason,
                action=action,
                status=status,
                status_source=source,
                reply_code=reply.code,
                diagnostic=delivery.diagnostic,
                remote_mta=delivery.remote_mta,
                when=delivery.arrival,
            )
        )
    return facts


# OpenSMTPD 6.8 (Debian 12) returns an expired message in its delay template: "Action: delayed", "Status: 4.4.7",
# "someone@example.org: Envelope expired ... Please note that this is only a temporary failure report"
# (tests/data/mta-dsn/opensmtpd-*-expired.eml). The envelope has left the queue: no retry will follow.
_EXPIRED = re.compile(r"\benvelope expired\b", re.IGNORECASE)


def _final_if_expired(action: DsnAction, diagnostic: str | None) -> DsnAction:
    """A "delayed" report whose recipient's envelope expired is final: nothing will be tried again."""
    if action is DsnAction.DELAYED and diagnostic and _EXPIRED.search(diagnostic[:1000]):
        return DsnAction.FAILED
    return action


# The reporter's own notice can say more than the quoted reply (classify.notice_says_disabled)
_VAGUE = {BounceReason.USERUNKNOWN, BounceReason.ONHOLD, BounceReason.FILTERED}
_EVENTS = {DsnAction.FAILED: EventKind.BOUNCE, DsnAction.DELAYED: EventKind.DEFERRED}
# Reasons that describe one attempt's trouble; in a final failure whose last status is transient (4.x.x) the
# MTA gave up retrying: Postfix "Status: 4.4.1 ... connect to x[192.0.2.1]:25: Connection timed out" in a bounce.
_RETRY_REASONS = {BounceReason.SYSTEMERROR, BounceReason.NETWORKERROR, BounceReason.ONHOLD, BounceReason.UNDEFINED}


def _given_up(
    reason: BounceReason, action: DsnAction, code: int | None, status: str | None, *, final_without_code: bool = False
) -> BounceReason:
    """EXPIRED for a final failure whose last word was transient, or (MTA notices) had no code at all:
    SendGrid "Connection timed out" in a bounce means the retries ran out."""
    if action is not DsnAction.FAILED or reason not in _RETRY_REASONS:
        return reason
    if (code // 100 == 4) if code else bool(status and status.startswith("4")):
        return BounceReason.EXPIRED
    # without any code only words of network or system trouble say retries ran out; silence stays "onhold"
    silent = final_without_code and code is None and status is None
    return BounceReason.EXPIRED if silent and reason is not BounceReason.ONHOLD else reason


# Delay warnings written as text (a DSN says "Action: delayed"). Exim: "This message has not yet been delivered ...
# Delivery attempts will continue for some time"; Postfix: "THIS IS A WARNING ONLY. YOU DO NOT NEED TO RESEND";
# Sendmail: "Warning: could not send message for past 4 hours"
_DELAY_WARNING = re.compile(
    r"has not yet been delivered|delivery attempts will continue|this is a warning only|will (?:continue|keep) trying"
    r"|warning: could not send message|still being retried|no action is required on your part",
    re.IGNORECASE,
)


def _senders(report: Report) -> set[str]:
    """Our sender's addresses, read once per message (a To field may hold thousands of addresses)."""
    return {a.casefold() for a in addresses_in(report.header("To") + " " + report.original_header("From"))}


def _names_only_the_sender(senders: set[str], recipient: str, reply_text: str) -> bool:
    """A reply naming our sender and not the recipient is about the sender: Exim "after end of data: 550 5.2.0
    <sender@example.com> From: Domain is invalid"; qmail "Remote host said: 550 5.7.1 <sender@x>... Access denied"."""
    named = {a.casefold() for a in addresses_in(reply_text)}
    return bool(named & senders) and recipient.casefold() not in named


def _from_failures(report: Report) -> list[BounceFact]:
    facts = []
    delayed = bool(_DELAY_WARNING.search(report.notice[:4000]))
    action = DsnAction.DELAYED if delayed else DsnAction.FAILED
    senders: set[str] | None = None
    for failure in mta.read_failures(report):
        reply = _reply(failure.diagnostic, None)
        source = StatusSource.REMOTE if reply.enhanced else None
        reason = reason_of(
            Reply(reply.code, reply.enhanced, failure.diagnostic),
            command=smtp_command(failure.diagnostic) or smtp_command(failure.context),
        )
        reason = _given_up(reason, action, reply.code, reply.enhanced, final_without_code=True)
        if reason in _VAGUE:
            senders = _senders(report) if senders is None else senders
            if _names_only_the_sender(senders, failure.recipient, reply.text):
                reason = BounceReason.REJECTED
        facts.append(
            _fact(
                report,
                failure.recipient,
                EventKind.DEFERRED if delayed else EventKind.BOUNCE,
                reason,
                action=action,
                status=reply.enhanced,
                status_source=source,
                reply_code=reply.code,
                diagnostic=failure.diagnostic or None,
                remote_mta=failure.remote_mta,
                recipient_inferred=failure.inferred,
            )
        )
    return facts


def _from_complaint(report: Report, complaint: arf.Complaint) -> list[BounceFact]:
    event = EventKind.UNSUBSCRIBE if complaint.unsubscribe else EventKind.COMPLAINT
    return [
        _fact(
            report,
            recipient,
            event,
            BounceReason.FEEDBACK,
            feedback_type=complaint.feedback_type,
            when=complaint.arrival,
        )
        for recipient in complaint.recipients
    ]


def _from_auto_reply(report: Report) -> list[BounceFact]:
    recipient = autoreply.responder(report)
    if recipient is None:
        return []
    reason = autoreply.auto_reply_reason(report)
    return [_fact(report, recipient, EventKind.AUTO_REPLY, reason, diagnostic=report.header("Subject") or None)]


def _reply(diagnostic: str | None, kind: str | None) -> Reply:
    if not diagnostic:
        return Reply(None, None, "")
    return parse_reply(f"{kind}; {diagnostic}" if kind else diagnostic)


def _fact(
    report: Report,
    recipient: str,
    event: EventKind,
    reason: BounceReason,
    *,
    when: str | None = None,
    message_id: str | None = None,
    **fields: object,
) -> BounceFact:
    return BounceFact(
        recipient=recipient,
        event=event,
        reason=reason,
        message_id=_printable(message_id or _message_id(report.original_header("Message-ID"))),
        event_id=_printable(_message_id(report.header("Message-ID"))),
        timestamp=timestamp_of(when or "") or timestamp_of(report.header("Date")),
        sender=_sender(report),
        **{
            name: _printable(value, name == "diagnostic") if type(value) is str else value
            for name, value in fields.items()
        },  # type: ignore[arg-type]
    )


# RFC 5322 §3.5 text holds no NUL and §3.2.3 atoms no controls: one in a header or a reply is noise, and
# PostgreSQL's text cannot hold a NUL at all. Each is replaced (U+FFFD, as undecodable bytes are), so both
# stores keep the same fact; a reply's line breaks and tabs stay (multi-line replies are real).
_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")
_CONTROLS_BUT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _printable(value: str | None, multiline: bool = False) -> str | None:
    return None if value is None else (_CONTROLS_BUT_LINES if multiline else _CONTROLS).sub("\ufffd", value)


def _message_id(value: str) -> str | None:
    value = value.strip()
    return value[:998] or None


def _sender(report: Report) -> str | None:
    for name in ("Return-Path", "From", "Sender"):
        address = first_address(report.original_header(name))
        if address is not None:
            return address
    return None
