"""The pure composer: checks' facts in, status, action and reasons out.

No I/O and no clock: ``decide`` is a plain function so every rule is unit-tested with plain
values (Reacher's ``calculate_reachable``). The order of precedence is the order of the
code: certain permanent failures first, then trouble (unknown), then risk signals.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from validator.config import SignalEffect
from validator.model import (
    Action,
    Address,
    InvalidAddress,
    MxAnswer,
    MxOutcome,
    ProbeOutcome,
    ProbeResult,
    Reason,
    Signals,
    SoftStreak,
    Status,
    Suppression,
)

# DNS outcomes that prove a message cannot be delivered (RFC 7505, RFC 5321 §5.1).
_PERMANENT_DNS = {
    MxOutcome.NO_SUCH_DOMAIN: Reason.NO_SUCH_DOMAIN,
    MxOutcome.NULL_MX: Reason.NULL_MX,
    MxOutcome.NO_MX: Reason.NO_MX,
}
# DNS trouble: the domain may be fine, we just could not tell. Never undeliverable.
_TROUBLE_DNS = {MxOutcome.TIMEOUT: Reason.DNS_TIMEOUT, MxOutcome.ERROR: Reason.DNS_ERROR}

# What an SMTP probe adds once DNS has passed. Only a statement about the mailbox itself is
# undeliverable; a refusal of the prober, a 4xx, a silent server or our own limit is unknown.
_PROBE = {
    ProbeOutcome.MAILBOX_NOT_FOUND: (Status.UNDELIVERABLE, Reason.MAILBOX_NOT_FOUND),
    ProbeOutcome.MAILBOX_DISABLED: (Status.UNDELIVERABLE, Reason.MAILBOX_DISABLED),
    ProbeOutcome.MAILBOX_FULL: (Status.RISKY, Reason.MAILBOX_FULL),
    ProbeOutcome.GREYLISTED: (Status.UNKNOWN, Reason.GREYLISTED),
    ProbeOutcome.REJECTED: (Status.UNKNOWN, Reason.SMTP_REJECTED),
    ProbeOutcome.PROBE_BLOCKED: (Status.UNKNOWN, Reason.PROBE_BLOCKED),
    ProbeOutcome.SMTP_UNAVAILABLE: (Status.UNKNOWN, Reason.SMTP_UNAVAILABLE),
    ProbeOutcome.NOT_ALLOWED: (Status.UNKNOWN, Reason.SMTP_UNAVAILABLE),
    ProbeOutcome.SMTP_TIMEOUT: (Status.UNKNOWN, Reason.SMTP_TIMEOUT),
    ProbeOutcome.THROTTLED: (Status.UNKNOWN, Reason.PROBE_THROTTLED),
}

_STATUS_ACTION = {
    Status.DELIVERABLE: Action.ACCEPT,
    Status.UNKNOWN: Action.ACCEPT,  # point-of-entry advice: let unknowns through, block only certain failures
    Status.RISKY: Action.CONFIRM,
    Status.UNDELIVERABLE: Action.BLOCK,
}


_SEVERITY = [Action.ACCEPT, Action.CONFIRM, Action.BLOCK]


@dataclass(frozen=True, slots=True)
class Ruling:
    status: Status
    action: Action
    reasons: tuple[Reason, ...]


# Rulings that recur, shared (they are frozen): the usual one, and the two that end the composition early.
_DELIVERABLE = Ruling(Status.DELIVERABLE, Action.ACCEPT, ())
_INVALID = Ruling(Status.UNDELIVERABLE, Action.BLOCK, (Reason.INVALID_SYNTAX,))
_SUPPRESSED = Ruling(Status.UNDELIVERABLE, Action.BLOCK, (Reason.SUPPRESSED,))


def signal_reasons(signals: Signals) -> list[Reason]:
    """The signal reasons that fired, in a fixed order."""
    fired = []
    if signals.disposable:
        fired.append(Reason.DISPOSABLE)
    if signals.role_account:
        fired.append(Reason.ROLE_ACCOUNT)
    if signals.free_provider:
        fired.append(Reason.FREE_PROVIDER)
    if signals.suggestion is not None:
        fired.append(Reason.TYPO_SUSPECTED)
    return fired


def decide(
    syntax: Address | InvalidAddress,
    mx: MxAnswer | None,
    signals: Signals | None,
    effects: Mapping[Reason, SignalEffect],
    suppression: Suppression | None = None,
    probe: ProbeResult | None = None,
    soft_streak: SoftStreak | None = None,
) -> Ruling:
    """Compose one verdict. ``effects`` says what each signal reason does (see config.SignalEffect).

    ``probe`` counts only when DNS left the address deliverable: DNS facts come first.
    """
    if isinstance(syntax, InvalidAddress):
        return _INVALID
    if suppression is not None:  # known to bounce, complain or have opted out: nothing else matters
        return _SUPPRESSED
    reasons: list[Reason] = []
    status = Status.DELIVERABLE
    if mx is not None:
        outcome = mx.outcome
        if outcome is MxOutcome.MX or outcome is MxOutcome.IMPLICIT:  # the usual answer: by identity, no hashing
            if mx.unroutable:
                reasons.append(Reason.MX_UNROUTABLE)
                status = Status.UNDELIVERABLE
        elif outcome in _PERMANENT_DNS:
            reasons.append(_PERMANENT_DNS[outcome])
            status = Status.UNDELIVERABLE
        elif outcome in _TROUBLE_DNS:
            reasons.append(_TROUBLE_DNS[outcome])
            status = Status.UNKNOWN
    action = _STATUS_ACTION[status]
    if probe is not None and status is Status.DELIVERABLE:
        status, action = _apply_probe(probe, reasons)
    if soft_streak is not None and status is Status.DELIVERABLE:  # real sends bounced softly, lately
        reasons.append(Reason.RECENT_SOFT_BOUNCES)
        status, action = Status.RISKY, _STATUS_ACTION[Status.RISKY]
    if signals is not None:
        for reason in signal_reasons(signals):
            effect = effects.get(reason, SignalEffect.INFO)
            if effect is SignalEffect.IGNORE:
                continue
            reasons.append(reason)
            if effect is SignalEffect.INFO:
                continue
            if status is Status.DELIVERABLE:
                status = Status.RISKY
            # A risky signal asks for confirmation even when DNS could not answer (unknown).
            action = max(action, Action.BLOCK if effect is SignalEffect.BLOCK else Action.CONFIRM, key=_SEVERITY.index)
    if not reasons and status is Status.DELIVERABLE and action is Action.ACCEPT:
        return _DELIVERABLE  # most verdicts: one shared value instead of a new one each
    return Ruling(status, action, tuple(reasons))


def _apply_probe(probe: ProbeResult, reasons: list[Reason]) -> tuple[Status, Action]:
    if probe.outcome is ProbeOutcome.ACCEPTED:
        if probe.accept_all:
            # The server accepts anything at this domain, so its 250 proves nothing. Risky for a
            # list cleaner, but a signup form should not nag every person at such a company.
            reasons.append(Reason.ACCEPT_ALL)
            return Status.RISKY, Action.ACCEPT
        return Status.DELIVERABLE, Action.ACCEPT
    status, reason = _PROBE[probe.outcome]
    reasons.append(reason)
    return status, _STATUS_ACTION[status]
