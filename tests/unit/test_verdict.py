"""decide(): every precedence rule, with plain values."""

import pytest

from validator.config import SignalEffect
from validator.model import (
    Action,
    Address,
    InvalidAddress,
    MxAnswer,
    MxHost,
    MxOutcome,
    Reason,
    Signals,
    Status,
    SyntaxProblem,
)
from validator.verdict import decide

ADDR = Address("jane", "example.com", "example.com", "jane@example.com", False)
GOOD_HOST = MxHost("mx.example.com", 10, ("8.8.8.8",), True)
PRIVATE_HOST = MxHost("mx.example.com", 10, ("10.0.0.1",), False)
MX = MxAnswer("example.com", MxOutcome.MX, (GOOD_HOST,), 300)
DEFAULTS = {
    Reason.DISPOSABLE: SignalEffect.BLOCK,
    Reason.ROLE_ACCOUNT: SignalEffect.RISKY,
    Reason.FREE_PROVIDER: SignalEffect.INFO,
    Reason.TYPO_SUSPECTED: SignalEffect.RISKY,
}


@pytest.mark.parametrize(
    "mx, status, action, reasons",
    [
        (MX, Status.DELIVERABLE, Action.ACCEPT, ()),
        (MxAnswer("example.com", MxOutcome.IMPLICIT, (GOOD_HOST,)), Status.DELIVERABLE, Action.ACCEPT, ()),
        (MxAnswer("example.com", MxOutcome.NULL_MX), Status.UNDELIVERABLE, Action.BLOCK, (Reason.NULL_MX,)),
        (MxAnswer("example.com", MxOutcome.NO_MX), Status.UNDELIVERABLE, Action.BLOCK, (Reason.NO_MX,)),
        (
            MxAnswer("example.com", MxOutcome.NO_SUCH_DOMAIN),
            Status.UNDELIVERABLE,
            Action.BLOCK,
            (Reason.NO_SUCH_DOMAIN,),
        ),
        (
            MxAnswer("example.com", MxOutcome.MX, (PRIVATE_HOST,)),
            Status.UNDELIVERABLE,
            Action.BLOCK,
            (Reason.MX_UNROUTABLE,),
        ),
        # trouble is unknown and let through, never blocked
        (MxAnswer("example.com", MxOutcome.TIMEOUT), Status.UNKNOWN, Action.ACCEPT, (Reason.DNS_TIMEOUT,)),
        (MxAnswer("example.com", MxOutcome.ERROR), Status.UNKNOWN, Action.ACCEPT, (Reason.DNS_ERROR,)),
    ],
    ids=["mx", "implicit", "null_mx", "no_mx", "nxdomain", "unroutable", "timeout", "servfail"],
)
def test_dns_outcomes(mx, status, action, reasons):
    decision = decide(ADDR, mx, Signals(), DEFAULTS)
    assert (decision.status, decision.action, decision.reasons) == (status, action, reasons)


def test_invalid_syntax_blocks_and_ignores_everything_else():
    decision = decide(InvalidAddress(SyntaxProblem.INVALID, "no @"), None, None, DEFAULTS)
    assert (decision.status, decision.action, decision.reasons) == (
        Status.UNDELIVERABLE,
        Action.BLOCK,
        (Reason.INVALID_SYNTAX,),
    )


def test_one_routable_host_is_enough():
    # a backup MX on a private address must not condemn a domain whose primary is public
    mx = MxAnswer("example.com", MxOutcome.MX, (PRIVATE_HOST, GOOD_HOST))
    assert decide(ADDR, mx, Signals(), DEFAULTS).status is Status.DELIVERABLE


@pytest.mark.parametrize(
    "signals, status, action, reasons",
    [
        (Signals(disposable=True), Status.RISKY, Action.BLOCK, (Reason.DISPOSABLE,)),
        (Signals(role_account=True), Status.RISKY, Action.CONFIRM, (Reason.ROLE_ACCOUNT,)),
        (Signals(free_provider=True), Status.DELIVERABLE, Action.ACCEPT, (Reason.FREE_PROVIDER,)),
        (Signals(suggestion="jane@gmail.com"), Status.RISKY, Action.CONFIRM, (Reason.TYPO_SUSPECTED,)),
        (Signals(privacy_relay=True), Status.DELIVERABLE, Action.ACCEPT, ()),
        (
            Signals(role_account=True, free_provider=True, disposable=True),
            Status.RISKY,
            Action.BLOCK,
            (Reason.DISPOSABLE, Reason.ROLE_ACCOUNT, Reason.FREE_PROVIDER),
        ),
    ],
    ids=["disposable_blocks", "role_confirms", "free_is_info", "typo_confirms", "relay_is_fine", "worst_wins"],
)
def test_signal_defaults(signals, status, action, reasons):
    decision = decide(ADDR, MX, signals, DEFAULTS)
    assert (decision.status, decision.action, decision.reasons) == (status, action, reasons)


def test_signal_effects_are_configurable():
    effects = {**DEFAULTS, Reason.DISPOSABLE: SignalEffect.IGNORE, Reason.FREE_PROVIDER: SignalEffect.BLOCK}
    decision = decide(ADDR, MX, Signals(disposable=True, free_provider=True), effects)
    assert (decision.status, decision.action, decision.reasons) == (
        Status.RISKY,
        Action.BLOCK,
        (Reason.FREE_PROVIDER,),
    )


def test_typo_on_unknown_domain_still_asks_to_confirm():
    # gmial.com timing out must not silently accept a likely typo
    decision = decide(ADDR, MxAnswer("gmial.com", MxOutcome.TIMEOUT), Signals(suggestion="jane@gmail.com"), DEFAULTS)
    assert (decision.status, decision.action) == (Status.UNKNOWN, Action.CONFIRM)


def test_undeliverable_stays_undeliverable_with_signals():
    decision = decide(
        ADDR, MxAnswer("gmial.com", MxOutcome.NO_SUCH_DOMAIN), Signals(suggestion="j@gmail.com"), DEFAULTS
    )
    assert (decision.status, decision.action) == (Status.UNDELIVERABLE, Action.BLOCK)
    assert decision.reasons == (Reason.NO_SUCH_DOMAIN, Reason.TYPO_SUSPECTED)


# --- the SMTP probe: only a statement about the mailbox is undeliverable ----------------------------

from validator.model import ProbeOutcome, ProbeResult  # noqa: E402


@pytest.mark.parametrize(
    "outcome, accept_all, status, action, reasons",
    [
        (ProbeOutcome.ACCEPTED, False, Status.DELIVERABLE, Action.ACCEPT, ()),
        (ProbeOutcome.ACCEPTED, None, Status.DELIVERABLE, Action.ACCEPT, ()),  # accept-all not learnt
        (ProbeOutcome.ACCEPTED, True, Status.RISKY, Action.ACCEPT, (Reason.ACCEPT_ALL,)),  # a 250 that proves nothing
        (ProbeOutcome.MAILBOX_NOT_FOUND, None, Status.UNDELIVERABLE, Action.BLOCK, (Reason.MAILBOX_NOT_FOUND,)),
        (ProbeOutcome.MAILBOX_DISABLED, None, Status.UNDELIVERABLE, Action.BLOCK, (Reason.MAILBOX_DISABLED,)),
        (ProbeOutcome.MAILBOX_FULL, None, Status.RISKY, Action.CONFIRM, (Reason.MAILBOX_FULL,)),
        (ProbeOutcome.GREYLISTED, None, Status.UNKNOWN, Action.ACCEPT, (Reason.GREYLISTED,)),
        (ProbeOutcome.PROBE_BLOCKED, None, Status.UNKNOWN, Action.ACCEPT, (Reason.PROBE_BLOCKED,)),
        (ProbeOutcome.REJECTED, None, Status.UNKNOWN, Action.ACCEPT, (Reason.SMTP_REJECTED,)),
        (ProbeOutcome.SMTP_UNAVAILABLE, None, Status.UNKNOWN, Action.ACCEPT, (Reason.SMTP_UNAVAILABLE,)),
        (ProbeOutcome.NOT_ALLOWED, None, Status.UNKNOWN, Action.ACCEPT, (Reason.SMTP_UNAVAILABLE,)),
        (ProbeOutcome.SMTP_TIMEOUT, None, Status.UNKNOWN, Action.ACCEPT, (Reason.SMTP_TIMEOUT,)),
        (ProbeOutcome.THROTTLED, None, Status.UNKNOWN, Action.ACCEPT, (Reason.PROBE_THROTTLED,)),
    ],
    ids=lambda v: str(v),
)
def test_probe_outcomes(outcome, accept_all, status, action, reasons):
    decision = decide(ADDR, MX, Signals(), DEFAULTS, probe=ProbeResult(outcome, accept_all=accept_all))
    assert (decision.status, decision.action, decision.reasons) == (status, action, reasons)


GONE_MAILBOX = {
    ProbeOutcome.MAILBOX_NOT_FOUND: Reason.MAILBOX_NOT_FOUND,
    ProbeOutcome.MAILBOX_DISABLED: Reason.MAILBOX_DISABLED,
}
EVERY_SIGNAL = Signals(True, True, True, True, "jane@gmail.com")  # all at once: none may turn a probe undeliverable


@pytest.mark.parametrize("outcome", list(ProbeOutcome), ids=str)
@pytest.mark.parametrize("accept_all", [None, False, True], ids=["accept_all_unknown", "not_accept_all", "accept_all"])
@pytest.mark.parametrize("signals", [Signals(), EVERY_SIGNAL], ids=["no_signals", "every_signal"])
def test_every_probe_outcome_has_a_decision(outcome, accept_all, signals):
    """Only the server's word that this mailbox is missing or disabled is undeliverable; every other outcome
    (a full mailbox, a refusal for no stated reason, a block, a timeout, a limit) is trouble, never a verdict
    on the address. A new ProbeOutcome without a row in verdict's table fails here (KeyError)."""
    decision = decide(ADDR, MX, signals, DEFAULTS, probe=ProbeResult(outcome, accept_all=accept_all))
    if outcome in GONE_MAILBOX:
        assert (decision.status, decision.action) == (Status.UNDELIVERABLE, Action.BLOCK)
        assert decision.reasons[0] is GONE_MAILBOX[outcome]  # the mailbox's own reason leads
    else:
        assert decision.status is not Status.UNDELIVERABLE, decision


def test_dns_failure_outranks_the_probe():
    probe = ProbeResult(ProbeOutcome.ACCEPTED)
    decision = decide(ADDR, MxAnswer("example.com", MxOutcome.NULL_MX), Signals(), DEFAULTS, probe=probe)
    assert (decision.status, decision.reasons) == (Status.UNDELIVERABLE, (Reason.NULL_MX,))


def test_signals_still_apply_after_a_probe():
    probe = ProbeResult(ProbeOutcome.MAILBOX_NOT_FOUND)
    decision = decide(ADDR, MX, Signals(role_account=True), DEFAULTS, probe=probe)
    assert (decision.status, decision.action) == (Status.UNDELIVERABLE, Action.BLOCK)
    assert decision.reasons == (Reason.MAILBOX_NOT_FOUND, Reason.ROLE_ACCOUNT)
