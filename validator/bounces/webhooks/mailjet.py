"""Mailjet Event API payloads → facts.

Accepted payload (Mailjet's "Event Tracking API"): one event object per request, or an array of
them when the webhook groups events. Each has ``event``, ``time`` (Unix seconds), ``email``,
``MessageID`` and ``Message_GUID`` (→ ``message_id``, the GUID first), ``customcampaign`` (the
``X-Mailjet-Campaign`` header: → ``campaign_id``); per event:

- ``bounce``: ``hard_bounce`` (true: permanent), ``blocked`` (Mailjet blocks the recipient now),
  ``error_related_to`` and ``error`` (Mailjet's error table), ``comment`` (the remote's reply, when
  there was one). The reason is re-derived from the reply; ``error_related_to/error`` is kept in
  ``claimed_type`` and decides only when the reply says too little (user unknown, mailbox
  inactive, quota exceeded, invalid domain, no mail host, relay/access denied, greylisted,
  sender blocked, content blocked, policy issue, system issue, protocol issue, connection
  issue). Mailjet has no deferral event: a bounce is a failed send either way, and ``hard_bounce``
  (Mailjet's own verdict) is kept in ``claimed_type`` (``/soft`` when false), while the reply and
  the error decide hard or soft, as for every provider.
- ``blocked``: Mailjet did not send it (its preblock list, a typo it fixed, a duplicate, a
  complaint or bounce before): reason ``suppressed``, ``error`` kept as the diagnostic.
- ``sent`` (``smtp_reply``): delivered. ``spam``: complaint (abuse). ``unsub``: unsubscribe.
  ``open``, ``click``: noted.

Pure and tolerant: a missing field is a missing fact detail, never an exception.
"""

from __future__ import annotations

from typing import Any

from validator.bounces.evidence import failure_fields, read_failure, settle
from validator.bounces.facts import BounceFact, BounceReason, DsnAction, EventKind
from validator.bounces.payload import each_event, epoch_time, flag, ident, text

Reading = tuple[list[BounceFact], list[str]]

# Mailjet's error table → a reason, used only when the reply says too little
_ERROR_LABELS = {
    "user unknown": BounceReason.USERUNKNOWN,
    "mailbox inactive": BounceReason.SUSPEND,
    "quota exceeded": BounceReason.MAILBOXFULL,
    "invalid domain": BounceReason.HOSTUNKNOWN,
    "no mail host": BounceReason.NOTACCEPT,
    "relay/access denied": BounceReason.NORELAYING,
    "greylisted": BounceReason.ONHOLD,
    "sender blocked": BounceReason.BLOCKED,
    "content blocked": BounceReason.SPAMDETECTED,
    "policy issue": BounceReason.POLICYVIOLATION,
    "system issue": BounceReason.SYSTEMERROR,
    "protocol issue": BounceReason.SYNTAXERROR,
    "connection issue": BounceReason.NETWORKERROR,
}
_NOTED = {"open", "click"}


def read_mailjet(payload: Any) -> Reading:
    return each_event(payload, lambda event: ident(event, "event"), "email", _fact, _NOTED, "open/click")


def _fact(kind: str | None, recipient: str, event: dict[str, Any]) -> BounceFact | None:
    common: dict[str, Any] = {
        "recipient": recipient,
        "timestamp": epoch_time(event, "time"),
        "message_id": ident(event, "Message_GUID") or ident(event, "MessageID"),
        "provider": "mailjet",
        "campaign_id": ident(event, "customcampaign"),
    }
    error = (ident(event, "error") or "").lower()
    claimed = "/".join(filter(None, (kind, ident(event, "error_related_to"), error)))
    if kind == "bounce":
        failure = read_failure(None, None, text(event, "comment"))
        return BounceFact(
            event=EventKind.BOUNCE,
            reason=settle(failure, _ERROR_LABELS.get(error)),
            action=DsnAction.FAILED,
            claimed_type=claimed + ("" if flag(event, "hard_bounce") else "/soft"),
            **failure_fields(failure),
            **common,
        )
    if kind == "blocked":
        return BounceFact(
            event=EventKind.BOUNCE,
            reason=BounceReason.SUPPRESSED,
            action=DsnAction.FAILED,
            claimed_type=claimed,
            diagnostic=text(event, "comment") or error or None,
            **common,
        )
    if kind == "sent":
        failure = read_failure(None, None, text(event, "smtp_reply"))
        return BounceFact(
            event=EventKind.DELIVERED,
            reason=BounceReason.DELIVERED,
            action=DsnAction.DELIVERED,
            **failure_fields(failure),
            **common,
        )
    if kind == "spam":
        return BounceFact(
            event=EventKind.COMPLAINT,
            reason=BounceReason.FEEDBACK,
            feedback_type="abuse",
            claimed_type=claimed,
            **common,
        )
    if kind == "unsub":
        return BounceFact(event=EventKind.UNSUBSCRIBE, claimed_type=kind, **common)
    return None
