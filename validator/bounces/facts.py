"""The vocabulary of bounce facts: what a reader found about one recipient of one message.

Facts, not decisions (Sisimai keeps the two apart, and learned why: its short-lived "toxic"
flag mixed them). A fact says what the evidence is (action, codes, text, and where each came
from) and names a ``BounceReason`` in Sisimai's vocabulary; ``validator.bounces.policy`` maps a fact
to a ``Category`` and decides what it does to the address. No I/O here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class EventKind(StrEnum):
    """What happened to one message for one recipient."""

    SENT = "sent"
    DELIVERED = "delivered"
    BOUNCE = "bounce"  # a failure report: DSN, MTA bounce, ESP bounce event
    DEFERRED = "deferred"  # a delay notice (DSN Action: delayed): never a bounce
    COMPLAINT = "complaint"  # ARF feedback report or an ESP spam-complaint event
    UNSUBSCRIBE = "unsubscribe"
    AUTO_REPLY = "auto_reply"  # RFC 3834 auto-reply (vacation); ignored unless it says the mailbox is gone


class DsnAction(StrEnum):
    """RFC 3464 §2.3.3 ``Action`` (OpenSMTPD's "error" is read as failed)."""

    FAILED = "failed"
    DELAYED = "delayed"
    DELIVERED = "delivered"
    RELAYED = "relayed"
    EXPANDED = "expanded"


class StatusSource(StrEnum):
    """Where the enhanced status code came from: the remote server's own words beat our guesses."""

    REMOTE = "remote"  # inside the remote server's reply (Diagnostic-Code, quoted SMTP reply)
    REPORTING_MTA = "reporting_mta"  # the DSN's Status: field, written by the MTA that gave up
    ESP = "esp"  # a field of a provider's event or webhook
    INFERRED = "inferred"  # derived by us from the text; not present in the evidence


class BounceReason(StrEnum):
    """Why delivery failed, in Sisimai's vocabulary (v5), kept as a fact."""

    USERUNKNOWN = "userunknown"
    HOSTUNKNOWN = "hostunknown"
    HASMOVED = "hasmoved"
    NOTACCEPT = "notaccept"
    SUSPEND = "suspend"
    MAILBOXFULL = "mailboxfull"
    EXCEEDLIMIT = "exceedlimit"
    MESGTOOBIG = "mesgtoobig"
    FILTERED = "filtered"
    REJECTED = "rejected"
    BLOCKED = "blocked"
    BADREPUTATION = "badreputation"
    REQUIREPTR = "requireptr"
    AUTHFAILURE = "authfailure"
    NOTCOMPLIANTRFC = "notcompliantrfc"
    CONTENTERROR = "contenterror"
    SPAMDETECTED = "spamdetected"
    VIRUSDETECTED = "virusdetected"
    POLICYVIOLATION = "policyviolation"
    SECURITYERROR = "securityerror"
    FAILEDSTARTTLS = "failedstarttls"
    NORELAYING = "norelaying"
    SYNTAXERROR = "syntaxerror"
    SYSTEMERROR = "systemerror"
    SYSTEMFULL = "systemfull"
    NETWORKERROR = "networkerror"
    EXPIRED = "expired"
    TOOMANYCONN = "toomanyconn"
    SPEEDING = "speeding"
    MAILERERROR = "mailererror"
    SUPPRESSED = "suppressed"  # the sending platform's own suppression list dropped it: nothing was sent
    ONHOLD = "onhold"
    UNDEFINED = "undefined"
    DELIVERED = "delivered"
    FEEDBACK = "feedback"
    VACATION = "vacation"


class Category(StrEnum):
    """The policy category a fact falls into (``validator.bounces.policy.categorize``)."""

    HARD_INVALID = "hard_invalid"  # the address does not exist: suppress at once
    DISABLED = "disabled"  # the mailbox exists no more (suspended, closed): suppress at once
    SOFT_MAILBOX = "soft_mailbox"  # the mailbox exists but cannot take mail now (full)
    SOFT_TRANSIENT = "soft_transient"  # network, system or queue-expiry trouble
    MESSAGE_PROBLEM = "message_problem"  # the message was refused (size, content, virus): not the address
    SENDER_PROBLEM = "sender_problem"  # our IP, domain or authentication was refused: not the address
    COMPLAINT = "complaint"
    UNSUBSCRIBE = "unsubscribe"
    IGNORE = "ignore"  # delivered, delayed, vacation, not-spam feedback, already suppressed


@dataclass(frozen=True, slots=True)
class BounceFact:
    """One recipient's fate in one message, as the evidence states it.

    ``recipient`` is the address as found (not normalized: ``ingest`` does that). For events
    that are not failures (sent, delivered, unsubscribe) the failure fields stay None.
    ``message_id`` names the *original* message (the send), so retries and the several
    reports of one send (synchronous reply, webhook, DSN) count once; ``event_id`` names the
    report itself (the provider's event id, or the bounce's own Message-ID) for idempotency.
    """

    recipient: str
    event: EventKind
    reason: BounceReason | None = None
    action: DsnAction | None = None
    status: str | None = None  # enhanced status code "5.1.1" (RFC 3463)
    status_source: StatusSource | None = None
    reply_code: int | None = None  # basic SMTP reply code (RFC 5321 §4.2)
    diagnostic: str | None = None  # the remote server's text, codes included, as reported
    remote_mta: str | None = None
    feedback_type: str | None = None  # ARF Feedback-Type (RFC 5965 §3.1): abuse, fraud, not-spam, ...
    claimed_type: str | None = None  # the sender's or provider's own label ("hard", "Permanent"): evidence only
    message_id: str | None = None
    event_id: str | None = None
    timestamp: datetime | None = None  # when it happened (UTC-aware), if the evidence says
    campaign_id: str | None = None
    sender: str | None = None  # the envelope sender or sending account the report belongs to
    provider: str | None = None  # the ESP or mailbox provider it came from ("ses", "gmail", ...)
    recipient_inferred: bool = False  # the report named no recipient: taken from the returned original's headers


def summary_of(fact: BounceFact) -> str | None:
    """One line for a suppression's detail: the codes, then the diagnostic, each said once.

    The diagnostic usually quotes the codes already ("550 5.1.1 <x>: Recipient address rejected: ..."):
    they are put in front only when it does not, so the line never reads "550 5.1.1 550 5.1.1 <x>...".
    """
    diagnostic = " ".join((fact.diagnostic or "").split())
    codes = [
        str(code)
        for code in (fact.reply_code, fact.status)
        if code and not re.search(rf"(?<![\d.]){re.escape(str(code))}(?![\d.])", diagnostic)
    ]
    return " ".join([*codes, diagnostic]).strip() or (str(fact.reason) if fact.reason else None)
