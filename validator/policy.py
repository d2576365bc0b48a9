"""Pure decisions on bounce facts: which category a fact falls into, and what it does to an address.

Sisimai's lesson (bounce-anchors §2.4): the parser reports facts, the application decides.
``categorize`` maps a ``BounceFact`` to a ``Category`` (bounce-anchors §6.1); the learning
rules (``SoftStreak``, ``streak_after``) decide when soft failures become chronic. No I/O,
no clock: the caller passes times in, so every rule is unit-tested with plain values.
"""

from __future__ import annotations

from .bounces.facts import BounceFact, BounceReason, Category, DsnAction, EventKind

_HARD = {BounceReason.USERUNKNOWN, BounceReason.HOSTUNKNOWN, BounceReason.HASMOVED}
_SOFT_MAILBOX = {BounceReason.MAILBOXFULL, BounceReason.SYSTEMFULL, BounceReason.FILTERED}
_MESSAGE = {
    BounceReason.MESGTOOBIG, BounceReason.EXCEEDLIMIT, BounceReason.CONTENTERROR,
    BounceReason.NOTCOMPLIANTRFC, BounceReason.VIRUSDETECTED,
}
_SENDER = {
    BounceReason.BLOCKED, BounceReason.BADREPUTATION, BounceReason.REQUIREPTR, BounceReason.AUTHFAILURE,
    BounceReason.REJECTED, BounceReason.POLICYVIOLATION, BounceReason.SECURITYERROR, BounceReason.FAILEDSTARTTLS,
    BounceReason.NORELAYING, BounceReason.SYNTAXERROR, BounceReason.SPAMDETECTED, BounceReason.TOOMANYCONN,
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
