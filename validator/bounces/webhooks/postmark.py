"""Postmark webhook payloads (one JSON object per request, ``RecordType``) → facts.

Accepted payloads:

- ``RecordType: Bounce``: ``Email``, ``Type``/``TypeCode``, ``Details`` (usually the remote's
  reply, ``smtp;550 5.1.1 ...``), ``Description`` (Postmark's words), ``BouncedAt``, ``ID``
  (→ ``event_id``), ``MessageID`` (→ ``message_id``), ``From``, ``Inactive``. The reason is
  re-derived from ``Details``; ``Type`` (plus ``/inactive`` when Postmark deactivated the
  address) is kept in ``claimed_type`` and decides only when the reply says too little:
  BadEmailAddress → userunknown, DnsError → networkerror, VirusNotification → virusdetected,
  Blocked → blocked, DMARCPolicy → authfailure, SMTPApiError → syntaxerror,
  TemplateRenderingFailed → contenterror. Not bounces: Transient (a delay: deferred),
  SpamComplaint and SpamNotification (complaint), Unsubscribe (unsubscribe), AutoResponder,
  AddressChange, ChallengeVerification (auto-replies: ignored by policy), Subscribe,
  OpenRelayTest, InboundError (noted). ManuallyDeactivated, Unconfirmed, ManualSuppression:
  never sent, reason ``suppressed``.
- ``RecordType: SpamComplaint``: complaint (abuse) for ``Email``.
- ``RecordType: Delivery``: ``Recipient``, ``DeliveredAt``, ``Details``: delivered.
- ``RecordType: SubscriptionChange``: ``Recipient``, ``SuppressSending``, ``SuppressionReason``:
  ``ManualSuppression`` with ``SuppressSending: true`` is an unsubscribe; a suppression for
  HardBounce/SpamComplaint mirrors one already reported (``suppressed``); a reactivation is noted.
- ``Open``, ``Click``: noted.

A ``campaign_id`` in the message ``Metadata`` becomes the facts' ``campaign_id``.

Pure and tolerant: a missing field is a missing fact detail, never an exception.
"""

from __future__ import annotations

from typing import Any

from validator.bounces.evidence import failure_fields, read_failure, settle
from validator.bounces.facts import BounceFact, BounceReason, DsnAction, EventKind
from validator.bounces.payload import address, flag, ident, iso_time, obj, text

Reading = tuple[list[BounceFact], list[str]]

_LABELS = {
    "BadEmailAddress": BounceReason.USERUNKNOWN,
    "DnsError": BounceReason.NETWORKERROR,
    "VirusNotification": BounceReason.VIRUSDETECTED,
    "Blocked": BounceReason.BLOCKED,
    "DMARCPolicy": BounceReason.AUTHFAILURE,
    "SMTPApiError": BounceReason.SYNTAXERROR,
    "TemplateRenderingFailed": BounceReason.CONTENTERROR,
}
_NOT_SENT = {"ManuallyDeactivated", "Unconfirmed", "ManualSuppression"}
_AUTO_REPLIES = {"AutoResponder", "AddressChange", "ChallengeVerification"}
_NOTED = {"Subscribe", "OpenRelayTest", "InboundError"}


def read_postmark(payload: Any) -> Reading:
    record = payload if isinstance(payload, dict) else {}
    kind = ident(record, "RecordType")
    if kind in ("Open", "Click"):
        return [], [f"Postmark {kind} record: nothing to learn about recipients"]
    recipient = address(record.get("Email") if kind in ("Bounce", "SpamComplaint") else record.get("Recipient"))
    if recipient is None:
        return [], [f"Postmark {kind or 'record'} without a usable recipient: nothing read"]
    common: dict[str, Any] = {
        "recipient": recipient,
        "event_id": ident(record, "ID"),
        "message_id": ident(record, "MessageID"),
        "provider": "postmark",
        "campaign_id": ident(obj(record, "Metadata"), "campaign_id"),
    }
    if kind == "Bounce":
        return _bounce(record, common)
    if kind == "SpamComplaint":
        return [
            BounceFact(
                event=EventKind.COMPLAINT,
                reason=BounceReason.FEEDBACK,
                feedback_type="abuse",
                claimed_type="SpamComplaint",
                timestamp=iso_time(record, "BouncedAt"),
                **common,
            )
        ], []
    if kind == "Delivery":
        failure = read_failure(None, None, text(record, "Details"))
        return [
            BounceFact(
                event=EventKind.DELIVERED,
                reason=BounceReason.DELIVERED,
                action=DsnAction.DELIVERED,
                timestamp=iso_time(record, "DeliveredAt"),
                **failure_fields(failure),
                **common,
            )
        ], []
    if kind == "SubscriptionChange":
        return _subscription(record, common)
    return [], [f"Postmark RecordType {kind!r} is not one this reader knows: nothing read"]


def _bounce(record: dict[str, Any], common: dict[str, Any]) -> Reading:
    kind = ident(record, "Type")
    claimed = (kind or "Bounce") + ("/inactive" if flag(record, "Inactive") else "")
    common = {
        **common,
        "timestamp": iso_time(record, "BouncedAt"),
        "sender": ident(record, "From"),
        "claimed_type": claimed,
    }
    if kind in ("SpamComplaint", "SpamNotification"):
        return [
            BounceFact(event=EventKind.COMPLAINT, reason=BounceReason.FEEDBACK, feedback_type="abuse", **common)
        ], []
    if kind == "Unsubscribe":
        return [BounceFact(event=EventKind.UNSUBSCRIBE, **common)], []
    if kind in _AUTO_REPLIES:
        return [BounceFact(event=EventKind.AUTO_REPLY, reason=BounceReason.VACATION, **common)], []
    if kind in _NOTED:
        return [], [f"Postmark {kind} record: nothing to learn about the recipient"]
    failure = read_failure(None, None, text(record, "Details") or text(record, "Description"))
    if kind in _NOT_SENT:
        reason = BounceReason.SUPPRESSED
    else:
        reason = settle(failure, _LABELS.get(kind or ""))
    event, action = (
        (EventKind.DEFERRED, DsnAction.DELAYED) if kind == "Transient" else (EventKind.BOUNCE, DsnAction.FAILED)
    )
    return [BounceFact(event=event, reason=reason, action=action, **failure_fields(failure), **common)], []


def _subscription(record: dict[str, Any], common: dict[str, Any]) -> Reading:
    why = ident(record, "SuppressionReason")
    common = {**common, "timestamp": iso_time(record, "ChangedAt"), "claimed_type": f"SubscriptionChange/{why}"}
    if not flag(record, "SuppressSending"):
        return [], ["Postmark reactivated a recipient: suppressions are lifted by the operator, not by webhooks"]
    if why == "ManualSuppression":
        return [BounceFact(event=EventKind.UNSUBSCRIBE, **common)], []
    return [BounceFact(event=EventKind.BOUNCE, reason=BounceReason.SUPPRESSED, action=DsnAction.FAILED, **common)], []
