"""Resend webhook payloads → facts.

Accepted payload (Resend's webhook reference): one event per request, ``{"type", "created_at",
"data"}``; ``data`` has ``email_id`` (→ ``message_id``), ``from``, ``to`` (a list of addresses),
``tags`` (an object, or a list of ``{"name", "value"}``; ``campaign_id`` → the facts'
``campaign_id``), and per type:

- ``email.bounced``: ``bounce{type, subType, message, diagnosticCode}``. Resend sends through
  Amazon SES and reports SES's bounce types: the reason is re-derived from ``diagnosticCode`` (the
  remote's reply; Resend's ``message`` when there is none), the subtype decides only when the reply
  says too little, and ``Suppressed``/``OnAccountSuppressionList`` mean nothing was sent
  (``readers.ses.subtype_reason``, shared). ``type/subType`` is kept in ``claimed_type``.
- ``email.delivery_delayed``: deferred. ``email.delivered``: delivered. ``email.sent``: sent.
  ``email.complained``: complaint (abuse).
- ``email.opened``, ``email.clicked``, ``email.failed`` (Resend refused the request itself),
  ``email.scheduled``, ``email.received``, ``contact.*``, ``domain.*``: noted.

Every recipient in ``to`` gets the fact. Pure and tolerant: a missing field is a missing fact
detail, never an exception.
"""

from __future__ import annotations

from email.utils import parseaddr
from typing import Any

from validator.bounces.evidence import failure_fields, read_failure
from validator.bounces.facts import BounceFact, BounceReason, DsnAction, EventKind
from validator.bounces.payload import address, ident, iso_time, items, obj, text
from validator.bounces.readers.ses import subtype_reason

Reading = tuple[list[BounceFact], list[str]]

_KINDS = {
    "email.bounced": (EventKind.BOUNCE, DsnAction.FAILED),
    "email.delivery_delayed": (EventKind.DEFERRED, DsnAction.DELAYED),
    "email.delivered": (EventKind.DELIVERED, DsnAction.DELIVERED),
    "email.sent": (EventKind.SENT, None),
    "email.complained": (EventKind.COMPLAINT, None),
}


def read_resend(payload: Any) -> Reading:
    kind, data = ident(payload, "type"), obj(payload, "data")
    if kind not in _KINDS:
        return [], [f"Resend event {kind!r}: nothing to learn about recipients"]
    recipients = [found for value in items(data, "to") if (found := _recipient(value)) is not None]
    if not recipients:
        return [], [f"Resend {kind} without a usable recipient in data.to: nothing read"]
    event, action = _KINDS[kind]
    sender = parseaddr(ident(data, "from") or "")[1] or None  # "Acme <news@acme.example>" too
    common: dict[str, Any] = {
        "event": event,
        "action": action,
        "timestamp": iso_time(payload, "created_at"),
        "message_id": ident(data, "email_id"),
        "provider": "resend",
        "campaign_id": _tag(data, "campaign_id"),
        "sender": sender,
    }
    if kind == "email.bounced":
        bounce = obj(data, "bounce")
        failure = read_failure(None, None, _diagnostic(bounce) or text(bounce, "message"))
        subtype = ident(bounce, "subType")
        common |= {"reason": subtype_reason(subtype, failure), **failure_fields(failure)}
        common["claimed_type"] = "/".join(filter(None, (ident(bounce, "type"), subtype))) or None
    elif kind == "email.delivered":
        common["reason"] = BounceReason.DELIVERED
    elif kind == "email.complained":
        common |= {"reason": BounceReason.FEEDBACK, "feedback_type": "abuse", "claimed_type": kind}
    elif kind == "email.delivery_delayed":
        common["claimed_type"] = kind
    return [BounceFact(recipient=recipient, **common) for recipient in recipients], []


def _recipient(value: Any) -> str | None:
    """An address of ``to``, given bare or with a display name (``"Jane <jane@example.com>"``)."""
    return address(parseaddr(value)[1] if isinstance(value, str) and "<" in value else value)


def _diagnostic(bounce: dict[str, Any]) -> str | None:
    """The remote's reply: ``diagnosticCode`` is a string, or a list of them (one per attempt)."""
    codes = bounce.get("diagnosticCode")
    first = codes[0] if isinstance(codes, list) and codes else codes
    return text({"diagnosticCode": first}, "diagnosticCode")


def _tag(data: dict[str, Any], name: str) -> str | None:
    """A tag's value: Resend shows ``tags`` as an object, and takes them as a list of name/value pairs."""
    tags = data.get("tags")
    if isinstance(tags, dict):
        return ident(tags, name)
    for tag in items(data, "tags"):
        if isinstance(tag, dict) and tag.get("name") == name:
            return ident(tag, "value")
    return None
