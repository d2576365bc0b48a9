"""The vocabulary of a validation: statuses, actions, reasons, and each check's facts.

Nothing here does I/O or imports from another ``validator`` module; every other module
may import this one. Enum values are the wire values (lower_snake), so the API, the CLI
and openapi.yaml all use the same words.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from validator.model.suppressions import Suppression


class Status(StrEnum):
    """Will a message to this address hard-bounce?"""

    DELIVERABLE = "deliverable"  # every check passed
    UNDELIVERABLE = "undeliverable"  # a permanent failure is certain: sending will hard-bounce
    RISKY = "risky"  # it may be delivered, but something (disposable, typo, ...) argues against it
    UNKNOWN = "unknown"  # a check could not finish (timeout, SERVFAIL): never a reason to block


class Action(StrEnum):
    """What a signup form should do with the address."""

    ACCEPT = "accept"
    CONFIRM = "confirm"  # ask the person to double-check (risky, or a likely typo)
    BLOCK = "block"  # a likely hard bounce, or a signal configured to block


class Reason(StrEnum):
    """Why a verdict is what it is. Stable API: documented one by one in openapi.yaml."""

    INVALID_SYNTAX = "invalid_syntax"
    SUPPRESSED = "suppressed"  # on the suppression list (the entry is in checks.suppression)
    NO_SUCH_DOMAIN = "no_such_domain"
    NULL_MX = "null_mx"
    NO_MX = "no_mx"
    MX_UNROUTABLE = "mx_unroutable"
    DNS_TIMEOUT = "dns_timeout"
    DNS_ERROR = "dns_error"
    DISPOSABLE = "disposable"
    ROLE_ACCOUNT = "role_account"
    FREE_PROVIDER = "free_provider"
    TYPO_SUSPECTED = "typo_suspected"
    RECENT_SOFT_BOUNCES = "recent_soft_bounces"  # real sends soft-bounced lately (checks.bounces)
    # SMTP RCPT probe (checks.smtp holds the server's reply). Only the first two are undeliverable:
    # a refusal of the prober, a 4xx or a silent server says nothing certain about the mailbox.
    MAILBOX_NOT_FOUND = "mailbox_not_found"
    MAILBOX_DISABLED = "mailbox_disabled"
    MAILBOX_FULL = "mailbox_full"
    ACCEPT_ALL = "accept_all"  # the server accepted a random address at the domain too
    GREYLISTED = "greylisted"
    SMTP_UNAVAILABLE = "smtp_unavailable"  # 421, refused or dropped connections, no usable reply
    SMTP_TIMEOUT = "smtp_timeout"  # the deadline ran out before the server answered
    SMTP_REJECTED = "smtp_rejected"  # a 5xx that names neither the mailbox nor the sender
    PROBE_BLOCKED = "probe_blocked"  # the prober (its IP, name or sender) was refused, not the address
    PROBE_THROTTLED = "probe_throttled"  # our own per-domain rate limit held the probe back


class SyntaxProblem(StrEnum):
    """Which rule of the pre-send syntax policy an address broke (``checks.syntax.problem``)."""

    EMPTY = "empty"
    FORBIDDEN_CHARACTER = "forbidden_character"  # CR, LF, NUL or another control character
    INVALID = "invalid"  # anything else email-validator refuses (missing @, bad dot, bad character)
    QUOTED_LOCAL_PART = "quoted_local_part"
    IP_LITERAL = "ip_literal"
    DOTLESS_DOMAIN = "dotless_domain"
    RESERVED_DOMAIN = "reserved_domain"  # special-use or reserved names: .test, .localhost, .invalid, ...
    LOCAL_PART_TOO_LONG = "local_part_too_long"
    TOO_LONG = "too_long"
    SMTPUTF8_REFUSED = "smtputf8_refused"


@dataclass(frozen=True, slots=True)
class Address:
    """An address that passed the syntax policy.

    ``domain`` is the Unicode (NFC, lower-case) form; ``ascii_domain`` the IDNA form used for DNS.
    ``normalized`` keeps the local part exactly as given (local parts are case-sensitive in
    RFC 5321 §2.4) and lower-cases the domain.
    """

    local_part: str
    domain: str
    ascii_domain: str
    normalized: str
    smtputf8: bool


@dataclass(frozen=True, slots=True)
class InvalidAddress:
    """An address that failed the syntax policy: an answer, not an exception."""

    problem: SyntaxProblem
    message: str


class MxOutcome(StrEnum):
    """What DNS said about a domain's mail routing."""

    MX = "mx"  # one or more MX records
    IMPLICIT = "implicit"  # no MX, but A/AAAA with routable addresses (RFC 5321 §5.1)
    NULL_MX = "null_mx"  # RFC 7505: a lone "." MX: the domain accepts no mail
    NO_MX = "no_mx"  # the name exists but has neither MX nor a routable A/AAAA
    NO_SUCH_DOMAIN = "no_such_domain"  # NXDOMAIN
    TIMEOUT = "timeout"  # no answer in time: unknown, never undeliverable
    ERROR = "error"  # SERVFAIL, REFUSED, malformed answer: unknown, never undeliverable


@dataclass(frozen=True, slots=True)
class MxHost:
    """One mail exchanger and the addresses it resolved to."""

    host: str
    preference: int
    addresses: tuple[str, ...]
    routable: bool  # at least one address is globally routable


@dataclass(frozen=True, slots=True)
class MxAnswer:
    """The mail routing of one domain, hosts in preference order."""

    domain: str
    outcome: MxOutcome
    hosts: tuple[MxHost, ...] = ()
    ttl: float = 0.0  # seconds this answer may be reused
    detail: str | None = None  # resolver error text for TIMEOUT and ERROR

    @property
    def unroutable(self) -> bool:
        """MX hosts exist but none resolves to a globally routable address."""
        if self.outcome is not MxOutcome.MX:
            return False
        for host in self.hosts:  # a plain loop: asked on every validation, any() over a generator costs twice
            if host.routable:
                return False
        return True


class ProbeOutcome(StrEnum):
    """What one SMTP RCPT probe learnt about an address (``checks.smtp.outcome``).

    The reply classes of ``smtp_reply.ReplyClass`` that concern the address, plus what can go
    wrong around a reply: no connection, no answer in time, a limit or the network guard.
    """

    ACCEPTED = "accepted"  # 250/251
    MAILBOX_NOT_FOUND = "mailbox_not_found"
    MAILBOX_DISABLED = "mailbox_disabled"
    MAILBOX_FULL = "mailbox_full"
    GREYLISTED = "greylisted"  # 450/451: ask again later
    REJECTED = "rejected"  # another 5xx: refused for no reason we can pin on the address
    PROBE_BLOCKED = "probe_blocked"
    SMTP_UNAVAILABLE = "smtp_unavailable"  # 421, other 4xx, connection refused or dropped, bad reply
    SMTP_TIMEOUT = "smtp_timeout"
    THROTTLED = "throttled"  # the per-domain rate limit would be exceeded before the deadline
    NOT_ALLOWED = "not_allowed"  # no MX address passed the network guard: nothing was sent


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """One SMTP RCPT probe: the outcome and the server reply that motivated it.

    ``code``/``enhanced``/``text`` are the reply to ``RCPT TO`` (or to the command that failed);
    for a timeout or a lost connection they are what was known by then, and ``detail`` says what
    went wrong. ``accept_all`` is None when the domain's behaviour is not known.
    """

    outcome: ProbeOutcome
    code: int | None = None
    enhanced: str | None = None
    text: str | None = None
    host: str | None = None  # the MX host that answered
    accept_all: bool | None = None
    tls: bool = False  # the session was encrypted (STARTTLS)
    cached: bool = False  # answered from the per-address cache, nothing sent
    elapsed_ms: float = 0.0
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class Signals:
    """Risk signals about an address, independent of DNS."""

    disposable: bool = False
    role_account: bool = False
    free_provider: bool = False
    privacy_relay: bool = False
    suggestion: str | None = None  # a corrected address when the domain looks like a typo


@dataclass(frozen=True, slots=True)
class SoftStreak:
    """Soft bounces of distinct sends to one address since its last delivery (bounce ingestion)."""

    sends: int
    first_at: datetime
    last_at: datetime


@dataclass(frozen=True, slots=True)
class Verdict:
    """The answer to "will this address hard-bounce?" with the evidence for it."""

    email: str
    normalized: str | None
    status: Status
    action: Action
    reasons: tuple[Reason, ...]
    suggestion: str | None
    syntax: Address | InvalidAddress
    mx: MxAnswer | None = None
    signals: Signals | None = None
    suppression: Suppression | None = None
    soft_streak: SoftStreak | None = None
    elapsed_ms: float = 0.0
    smtp: ProbeResult | None = None  # None: no probe (not enabled, not asked, or DNS already decided)
