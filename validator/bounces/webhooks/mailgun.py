"""Mailgun webhook payloads (JSON, ``{"signature": {...}, "event-data": {...}}``) → facts.

Accepted payload: one event per request. ``event-data`` carries ``event``, ``recipient``,
``timestamp`` (Unix seconds, float), ``id`` (→ ``event_id``), ``message.headers.message-id``
(→ ``message_id``), ``envelope.sender``, and per event:

- ``failed``: ``severity`` = ``permanent`` or ``temporary``, ``reason`` (bounce, generic, old,
  suppress-bounce, suppress-unsubscribe, suppress-complaint, espblock, greylisted, ...),
  ``delivery-status{code, enhanced-code, message, description, mx-host}``. The reason is
  re-derived from code, enhanced code and ``message`` (the remote's reply; Mailgun's
  ``description`` when there is none); ``severity/reason`` is kept in ``claimed_type``.
  ``permanent`` is a bounce. ``temporary`` is a deferral (Mailgun retries; anymail #130)
  **except** ``reason: old``: Mailgun's final give-up after hours of retries, still marked
  temporary (Mailgun's event docs: "old" = retries exhausted), read as a bounce whose vague reply means ``expired``.
  ``suppress-*``: Mailgun never sent it: reason ``suppressed``.
- ``delivered`` (``delivery-status``): delivered. ``accepted``: sent. ``complained``: complaint
  (abuse). ``unsubscribed``: unsubscribe. ``rejected``, ``opened``, ``clicked``, ``stored``: noted.

A ``campaign_id`` user variable (``v:campaign_id`` when sending) becomes the facts' ``campaign_id``.
The legacy form-encoded webhooks are not read: configure Mailgun's JSON webhooks.
Pure and tolerant: a missing field is a missing fact detail, never an exception.
"""

from __future__ import annotations

from typing import Any

from validator.bounces.evidence import failure_fields, read_failure, settle, split_status
from validator.bounces.facts import BounceFact, BounceReason, DsnAction, EventKind
from validator.bounces.payload import address, epoch_time, ident, obj, text

Reading = tuple[list[BounceFact], list[str]]

# Mailgun's failure reasons → a reason, used only when the reply says too little
_REASON_LABELS = {"old": BounceReason.EXPIRED, "espblock": BounceReason.BLOCKED}


def read_mailgun(payload: Any) -> Reading:
    data = obj(payload, "event-data")
    kind = ident(data, "event")
    recipient = address(data.get("recipient"))
    if kind in ("rejected", "opened", "clicked", "stored"):
        return [], [f"Mailgun {kind} event: nothing to learn about recipients"]
    if recipient is None:
        return [], ["event-data.recipient is missing or not an address: nothing read"]
    common: dict[str, Any] = {
        "recipient": recipient,
        "timestamp": epoch_time(data, "timestamp"),
        "event_id": ident(data, "id"),
        "message_id": ident(obj(obj(data, "message"), "headers"), "message-id"),
        "sender": ident(obj(data, "envelope"), "sender"),
        "provider": "mailgun",
        "campaign_id": ident(obj(data, "user-variables"), "campaign_id"),
    }
    status = obj(data, "delivery-status")
    if kind == "failed":
        return [_failed(data, status, common)], []
    if kind == "delivered":
        failure = _failure(status)
        return [
            BounceFact(
                event=EventKind.DELIVERED,
                reason=BounceReason.DELIVERED,
                action=DsnAction.DELIVERED,
                remote_mta=ident(status, "mx-host"),
                **failure_fields(failure),
                **common,
            )
        ], []
    if kind == "accepted":
        return [BounceFact(event=EventKind.SENT, **common)], []
    if kind == "complained":
        return [
            BounceFact(
                event=EventKind.COMPLAINT,
                reason=BounceReason.FEEDBACK,
                feedback_type="abuse",
                claimed_type="complained",
                **common,
            )
        ], []
    if kind == "unsubscribed":
        return [BounceFact(event=EventKind.UNSUBSCRIBE, claimed_type="unsubscribed", **common)], []
    return [], [f"Mailgun event {kind!r} is not one this reader knows: nothing read"]


def _failed(data: dict[str, Any], status: dict[str, Any], common: dict[str, Any]) -> BounceFact:
    severity, reason = ident(data, "severity"), ident(data, "reason")
    claimed = "/".join(filter(None, (severity, reason))) or None
    failure = _failure(status)
    final = severity != "temporary" or reason == "old"
    if reason is not None and reason.startswith("suppress-"):
        found = BounceReason.SUPPRESSED
    else:
        found = settle(failure, _REASON_LABELS.get(reason or ""))
    return BounceFact(
        event=EventKind.BOUNCE if final else EventKind.DEFERRED,
        reason=found,
        action=DsnAction.FAILED if final else DsnAction.DELAYED,
        claimed_type=claimed,
        remote_mta=ident(status, "mx-host"),
        **failure_fields(failure),
        **common,
    )


def _failure(status: dict[str, Any]) -> Any:
    code, _ = split_status(status.get("code"))
    _, enhanced = split_status(status.get("enhanced-code"))
    return read_failure(code, enhanced, text(status, "message") or text(status, "description"))
