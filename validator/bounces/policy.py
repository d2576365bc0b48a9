"""Pure decisions on bounce facts: which category a fact falls into, and what it does to an address.

Sisimai's lesson (its short-lived "toxic" flag mixed the two): the parser reports facts, the application
decides. ``categorize`` maps a ``BounceFact`` to a ``Category``; the learning
rules (``SoftStreak``, ``streak_after``) decide when soft failures become chronic. No I/O,
no clock: the caller passes times in, so every rule is unit-tested with plain values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from validator.bounces.facts import BounceFact, BounceReason, Category, DsnAction, EventKind
from validator.config import Settings
from validator.model import SoftStreak, SuppressionReason

_HARD = {BounceReason.USERUNKNOWN, BounceReason.HOSTUNKNOWN, BounceReason.HASMOVED}
_SOFT_MAILBOX = {BounceReason.MAILBOXFULL, BounceReason.SYSTEMFULL, BounceReason.FILTERED}
_MESSAGE = {
    BounceReason.MESGTOOBIG,
    BounceReason.EXCEEDLIMIT,
    BounceReason.CONTENTERROR,
    BounceReason.NOTCOMPLIANTRFC,
    BounceReason.VIRUSDETECTED,
}
_SENDER = {
    BounceReason.BLOCKED,
    BounceReason.BADREPUTATION,
    BounceReason.REQUIREPTR,
    BounceReason.AUTHFAILURE,
    BounceReason.REJECTED,
    BounceReason.POLICYVIOLATION,
    BounceReason.SECURITYERROR,
    BounceReason.FAILEDSTARTTLS,
    BounceReason.NORELAYING,
    BounceReason.SYNTAXERROR,
    BounceReason.SPAMDETECTED,
    BounceReason.TOOMANYCONN,
    BounceReason.SPEEDING,
}
_IGNORED_REASONS = {BounceReason.DELIVERED, BounceReason.VACATION, BounceReason.SUPPRESSED}
# RFC 5965 §7.3 / RFC 6591: "not-spam" takes a complaint back, "auth-failure" is a DMARC report.
_NOT_COMPLAINTS = {"not-spam", "auth-failure"}


def categorize(fact: BounceFact) -> Category:
    """The policy category of one fact; the order of the tests is the order of precedence."""
    if fact.event is EventKind.COMPLAINT:
        feedback = (fact.feedback_type or "abuse").lower()
        if feedback in _NOT_COMPLAINTS:
            return Category.IGNORE
        return Category.UNSUBSCRIBE if feedback == "opt-out" else Category.COMPLAINT
    if fact.event is EventKind.UNSUBSCRIBE:
        return Category.UNSUBSCRIBE
    if fact.event is EventKind.AUTO_REPLY:  # "this mailbox is no longer in use" (go-sisimai #202)
        return Category.DISABLED if fact.reason is BounceReason.SUSPEND else Category.IGNORE
    if fact.event is not EventKind.BOUNCE or fact.action not in (None, DsnAction.FAILED):
        return Category.IGNORE  # sent, delivered, and "Action: delayed" are never bounces
    return _bounce_category(fact)


def _bounce_category(fact: BounceFact) -> Category:
    reason = fact.reason or BounceReason.UNDEFINED
    if reason in _HARD:
        return Category.HARD_INVALID
    transient = _class_digit(fact) == 4
    if reason is BounceReason.NOTACCEPT:  # null MX and the like: final unless the server said 4xx
        return Category.SOFT_TRANSIENT if transient else Category.HARD_INVALID
    if reason is BounceReason.SUSPEND:
        return Category.SOFT_MAILBOX if transient else Category.DISABLED
    if reason in _SOFT_MAILBOX:
        return Category.SOFT_MAILBOX
    if reason in _MESSAGE:
        return Category.MESSAGE_PROBLEM
    if reason in _SENDER:
        return Category.SENDER_PROBLEM
    if reason in _IGNORED_REASONS or reason is BounceReason.FEEDBACK:
        return Category.IGNORE
    return Category.SOFT_TRANSIENT  # expired, networkerror, systemerror, mailererror, onhold, undefined


def _class_digit(fact: BounceFact) -> int | None:
    if fact.reply_code is not None:
        return fact.reply_code // 100
    if fact.status and fact.status[0] in "245":
        return int(fact.status[0])
    return None


# --- learning: what a categorized fact does to an address ----------------------------------


class Outcome(StrEnum):
    """What ingesting one fact did (returned per recipient, so a sender can audit every decision)."""

    SUPPRESSED = "suppressed"  # put on the suppression list now
    STREAK_INCREMENTED = "streak_incremented"  # one more soft failure of a distinct send
    STREAK_SAME_SEND = "streak_same_send"  # a retry of a send already counted: the streak is unchanged
    STREAK_RESET = "streak_reset"  # a delivery closed the soft streak
    RECORDED = "recorded"  # kept for reports only (sent, delivered, sender or message problems)
    IGNORED = "ignored"  # nothing to learn (delay notice, vacation reply, not-spam)
    DUPLICATE = "duplicate"  # this very event was ingested before: nothing changed
    INVALID_RECIPIENT = "invalid_recipient"  # the recipient is not an address we could key


@dataclass(frozen=True, slots=True)
class LearningPolicy:
    """When soft failures become chronic (defaults: 3 sends over 60 days, or 5 sends)."""

    chronic_sends: int = 3
    chronic_days: float = 60.0
    chronic_max_sends: int = 5


def learning_policy(settings: Settings) -> LearningPolicy:
    return LearningPolicy(settings.chronic_soft_sends, settings.chronic_soft_days, settings.chronic_soft_max_sends)


@dataclass(frozen=True, slots=True)
class Learning:
    outcome: Outcome
    streak: SoftStreak | None  # the streak after this fact (None: none open)
    suppress: SuppressionReason | None = None


_SUPPRESS_AT_ONCE = {
    Category.HARD_INVALID: SuppressionReason.HARD_BOUNCE,
    Category.DISABLED: SuppressionReason.HARD_BOUNCE,
    Category.COMPLAINT: SuppressionReason.COMPLAINT,
    Category.UNSUBSCRIBE: SuppressionReason.UNSUBSCRIBE,
}
_SOFT = {Category.SOFT_MAILBOX, Category.SOFT_TRANSIENT}


def learn(
    category: Category,
    event: EventKind,
    streak: SoftStreak | None,
    *,
    new_send: bool,
    at: datetime,
    policy: LearningPolicy,
) -> Learning:
    """The decision for one fact given the address's open streak. ``new_send``: the fact's send
    was not counted in this streak before (retries of one message count once)."""
    if category in _SUPPRESS_AT_ONCE:
        return Learning(Outcome.SUPPRESSED, None, _SUPPRESS_AT_ONCE[category])
    if category in _SOFT:
        if not new_send and streak is not None:
            return Learning(Outcome.STREAK_SAME_SEND, streak)
        grown = (
            SoftStreak(streak.sends + 1, min(streak.first_at, at), max(streak.last_at, at))
            if streak
            else SoftStreak(1, at, at)
        )
        if is_chronic(grown, policy):
            return Learning(Outcome.SUPPRESSED, None, SuppressionReason.CHRONIC_SOFT_BOUNCE)
        return Learning(Outcome.STREAK_INCREMENTED, grown)
    if event is EventKind.DELIVERED:
        return Learning(Outcome.STREAK_RESET if streak is not None else Outcome.RECORDED, None)
    if category in (Category.SENDER_PROBLEM, Category.MESSAGE_PROBLEM) or event is EventKind.SENT:
        return Learning(Outcome.RECORDED, streak)  # never charged to the address
    return Learning(Outcome.IGNORED, streak)


def is_chronic(streak: SoftStreak, policy: LearningPolicy) -> bool:
    """3 distinct sends spanning at least 60 days, or 5 sends however close (defaults)."""
    span = streak.last_at - streak.first_at
    return streak.sends >= policy.chronic_max_sends or (
        streak.sends >= policy.chronic_sends and span >= timedelta(days=policy.chronic_days)
    )
