"""The pure composer: checks' facts in, status, action and reasons out.

No I/O and no clock: ``decide`` is a plain function so every rule is unit-tested with plain
values (Reacher's ``calculate_reachable``). The order of precedence is the order of the
code: certain permanent failures first, then trouble (unknown), then risk signals.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .config import SignalEffect
from .model import (
    Action,
    Address,
    InvalidAddress,
    MxAnswer,
    MxOutcome,
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

_STATUS_ACTION = {
    Status.DELIVERABLE: Action.ACCEPT,
    Status.UNKNOWN: Action.ACCEPT,  # point-of-entry advice: let unknowns through, block only certain failures
    Status.RISKY: Action.CONFIRM,
    Status.UNDELIVERABLE: Action.BLOCK,
}


_SEVERITY = [Action.ACCEPT, Action.CONFIRM, Action.BLOCK]


@dataclass(frozen=True, slots=True)
class Decision:
    status: Status
    action: Action
    reasons: tuple[Reason, ...]


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
    soft_streak: SoftStreak | None = None,
) -> Decision:
    """Compose one verdict. ``effects`` says what each signal reason does (see config.SignalEffect)."""
    if isinstance(syntax, InvalidAddress):
        return Decision(Status.UNDELIVERABLE, Action.BLOCK, (Reason.INVALID_SYNTAX,))
    if suppression is not None:  # known to bounce, complain or have opted out: nothing else matters
        return Decision(Status.UNDELIVERABLE, Action.BLOCK, (Reason.SUPPRESSED,))
    reasons: list[Reason] = []
    status = Status.DELIVERABLE
    if mx is not None:
        if mx.outcome in _PERMANENT_DNS:
            reasons.append(_PERMANENT_DNS[mx.outcome])
            status = Status.UNDELIVERABLE
        elif mx.outcome in _TROUBLE_DNS:
            reasons.append(_TROUBLE_DNS[mx.outcome])
            status = Status.UNKNOWN
        elif mx.unroutable:
            reasons.append(Reason.MX_UNROUTABLE)
            status = Status.UNDELIVERABLE
    if soft_streak is not None and status is Status.DELIVERABLE:  # real sends bounced softly, lately
        reasons.append(Reason.RECENT_SOFT_BOUNCES)
        status = Status.RISKY
    action = _STATUS_ACTION[status]
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
    return Decision(status, action, tuple(reasons))
