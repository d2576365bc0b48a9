"""SendGrid Event Webhook payloads → facts.

Accepted payload: a JSON array of event objects (a single object is read as a one-event array).
Each has ``email``, ``event``, ``timestamp`` (Unix seconds), ``sg_event_id`` (→ ``event_id``),
``sg_message_id`` (→ ``message_id``), and per event:

- ``bounce``: ``type`` = ``bounce`` (SendGrid suppresses) or ``blocked`` (SendGrid does not),
  ``status`` (``5.1.1``, or a bare ``550``, or **absent**), ``reason`` (the remote's reply, or
  SendGrid's own words), ``bounce_classification``. The reason is re-derived from status and
  text; ``type`` and classification are kept in ``claimed_type`` (``blocked`` covers full
  mailboxes, disabled mailboxes and dead domains as well as reputation blocks).
- ``dropped``: never sent (SendGrid's suppression lists, invalid address): reason ``suppressed``,
  ``reason`` text kept as the diagnostic.
- ``deferred`` (``response``, ``attempt``): deferred, never a bounce. ``delivered``
  (``response``): delivered. ``processed``: sent. ``spamreport``: complaint (abuse).
  ``unsubscribe``, ``group_unsubscribe``: unsubscribe. ``open``, ``click``,
  ``group_resubscribe``: noted, no facts.
- A ``campaign_id`` custom argument (SendGrid copies ``custom_args`` into each event) becomes
  the facts' ``campaign_id``.
- An object without ``event`` but with ``reason``/``status`` is a Bounces API record
  (``GET /v3/suppression/bounces``: ``email``, ``created``, ``status``, ``reason``), read as a
  bounce, so an exported bounce list goes through the same rules.

Pure and tolerant: a missing field is a missing fact detail, never an exception.
"""

from __future__ import annotations

import re
from typing import Any

from validator.bounces.evidence import failure_fields, read_failure, settle, split_status
from validator.bounces.facts import BounceFact, BounceReason, DsnAction, EventKind
from validator.bounces.payload import each_event, epoch_time, ident, text

Reading = tuple[list[BounceFact], list[str]]

# SendGrid's own words when it never reached a server: not a remote reply, so they decide before
# reason_of reads them (which would take the "PTR" below for a reverse-DNS refusal of our IP).
_OWN_WORDS = (
    # Bounces API record: "Mail domain mentioned in email address is unknown" (set-of-emails json-sendgrid-11)
    (re.compile(r"mail domain mentioned in email address is unknown", re.I), BounceReason.HOSTUNKNOWN),
    # Discourse's crash: type=blocked, no status, "unable to get mx info: failed to get IPs from PTR
    # record: lookup <nil>: unrecognized address": SendGrid's DNS lookup failed; a re-check of MX decides
    (re.compile(r"unable to get mx info", re.I), BounceReason.NETWORKERROR),
)
_IGNORED = {"open", "click", "group_resubscribe"}


def read_sendgrid(payload: Any) -> Reading:
    return each_event(payload, _kind, "email", _fact, _IGNORED, "open/click/resubscribe")


def _kind(event: dict[str, Any]) -> str | None:
    kind = ident(event, "event")
    if kind is None and (event.get("reason") is not None or event.get("status") is not None):
        return "bounce"  # a Bounces API record
    return kind


def _fact(kind: str | None, recipient: str, event: dict[str, Any]) -> BounceFact | None:
    common: dict[str, Any] = {
        "recipient": recipient,
        "timestamp": epoch_time(event, "timestamp"),
        "event_id": ident(event, "sg_event_id"),
        "message_id": ident(event, "sg_message_id"),
        "provider": "sendgrid",
        "campaign_id": ident(event, "campaign_id"),  # a custom_args key: SendGrid puts those at the event's top level
    }
    if kind == "bounce":
        code, status = split_status(event.get("status"))
        failure = read_failure(code, status, text(event, "reason"))
        claimed = "/".join(filter(None, ("bounce", ident(event, "type"), ident(event, "bounce_classification"))))
        own = _own_words(failure.diagnostic) if failure.reply_code is None and failure.status is None else None
        return BounceFact(
            event=EventKind.BOUNCE,
            reason=own or settle(failure, None),
            action=DsnAction.FAILED,
            claimed_type=claimed,
            **failure_fields(failure),
            **common,
        )
    if kind == "dropped":
        return BounceFact(
            event=EventKind.BOUNCE,
            reason=BounceReason.SUPPRESSED,
            action=DsnAction.FAILED,
            claimed_type="dropped",
            diagnostic=text(event, "reason"),
            **common,
        )
    if kind in ("deferred", "delivered"):
        code, status = split_status(event.get("status"))
        failure = read_failure(code, status, text(event, "response") or text(event, "reason"))
        if kind == "delivered":
            return BounceFact(
                event=EventKind.DELIVERED,
                reason=BounceReason.DELIVERED,
                action=DsnAction.DELIVERED,
                **failure_fields(failure),
                **common,
            )
        return BounceFact(
            event=EventKind.DEFERRED,
            reason=settle(failure, None),
            action=DsnAction.DELAYED,
            claimed_type="deferred",
            **failure_fields(failure),
            **common,
        )
    if kind == "processed":
        return BounceFact(event=EventKind.SENT, **common)
    if kind == "spamreport":
        return BounceFact(
            event=EventKind.COMPLAINT,
            reason=BounceReason.FEEDBACK,
            feedback_type="abuse",
            claimed_type="spamreport",
            **common,
        )
    if kind in ("unsubscribe", "group_unsubscribe"):
        return BounceFact(event=EventKind.UNSUBSCRIBE, claimed_type=kind, **common)
    return None


def _own_words(diagnostic: str | None) -> BounceReason | None:
    if diagnostic is None:
        return None
    return next((reason for pattern, reason in _OWN_WORDS if pattern.search(diagnostic)), None)
