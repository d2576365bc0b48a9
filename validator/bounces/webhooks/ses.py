"""Amazon SES notifications (the ``Message`` of an SNS Notification) → facts.

Accepted payload: the JSON object SES publishes, either as a *notification* (``notificationType``)
or through *event publishing* (``eventType``); both carry ``mail{messageId, source, timestamp,
destination[]}`` and one of:

- ``Bounce``: ``bounce{bounceType: Permanent|Transient|Undetermined, bounceSubType, bouncedRecipients[
  {emailAddress, action, status, diagnosticCode}], timestamp, feedbackId, remoteMtaIp}``. One fact per
  recipient; the reason is re-derived from ``diagnosticCode`` (the remote's reply, e.g.
  ``smtp; 550 5.1.1 user unknown``) and ``status``; ``bounceType/bounceSubType`` is kept as
  ``claimed_type`` and decides only when the reply says too little (``NoEmail`` → userunknown,
  ``MailboxFull``, ``MessageTooLarge``, ``ContentRejected``/``AttachmentRejected``).
  ``Suppressed``/``OnAccountSuppressionList`` mean SES never sent it: reason ``suppressed``
  whatever the text (SES's text there is its own explanation, not a reply).
- ``Complaint``: ``complaint{complainedRecipients[{emailAddress}], complaintFeedbackType,
  complaintSubType, timestamp, feedbackId}``. SES infers the recipients from the original message
  when the mailbox provider redacts them, so a complaint on a multi-recipient send is noted.
- ``Delivery``: ``delivery{recipients[], smtpResponse, timestamp, remoteMtaIp}``: resets streaks.
- ``DeliveryDelay`` (event publishing): ``deliveryDelay{delayedRecipients[{emailAddress, status,
  diagnosticCode}], delayType}``: deferred, never a bounce.
A message tag ``campaign_id`` (``mail.tags.campaign_id[0]``) becomes the facts' ``campaign_id``.

- ``Send``: one ``sent`` fact per ``mail.destination``. ``Subscription`` with
  ``newTopicPreferences.unsubscribeAll: true``: unsubscribe. ``Reject``, ``Open``, ``Click``,
  ``Rendering Failure`` and the rest: noted, no facts.

Pure and tolerant: a missing field is a missing fact detail, never an exception.
"""

from __future__ import annotations

from typing import Any

from validator.bounces.evidence import failure_fields, read_failure, settle, split_status
from validator.bounces.facts import BounceFact, BounceReason, DsnAction, EventKind
from validator.bounces.webhooks.payload import address, ident, iso_time, items, obj, records, text

# bounceSubType → reason, used only when the reply says too little (bounce-anchors §4.1)
_SUBTYPE_LABELS = {
    "NoEmail": BounceReason.USERUNKNOWN,
    "MailboxFull": BounceReason.MAILBOXFULL,
    "MessageTooLarge": BounceReason.MESGTOOBIG,
    "ContentRejected": BounceReason.CONTENTERROR,
    "AttachmentRejected": BounceReason.CONTENTERROR,
}
_NOT_SENT = {"Suppressed", "OnAccountSuppressionList"}  # SES's own lists: nothing reached a server
_IGNORED = {"Reject", "Open", "Click", "Rendering Failure", "RenderingFailure"}

Reading = tuple[list[BounceFact], list[str]]


def read_ses(message: Any) -> Reading:
    """Facts and notes of one SES notification or event."""
    kind = ident(message, "notificationType") or ident(message, "eventType")
    mail = obj(message, "mail")
    common: dict[str, Any] = {
        "message_id": ident(mail, "messageId"),
        "sender": ident(mail, "source"),
        "provider": "ses",
        "campaign_id": _tag(mail, "campaign_id"),
    }
    if kind == "Bounce":
        return _bounces(obj(message, "bounce"), common)
    if kind == "Complaint":
        return _complaints(obj(message, "complaint"), mail, common)
    if kind == "Delivery":
        return _deliveries(obj(message, "delivery"), common)
    if kind == "DeliveryDelay":
        return _delays(obj(message, "deliveryDelay"), common)
    if kind == "Send":
        sent = [
            BounceFact(recipient=r, event=EventKind.SENT, timestamp=iso_time(mail, "timestamp"), **common)
            for r in _addresses(items(mail, "destination"))
        ]
        return sent, []
    if kind == "Subscription":
        return _subscription(obj(message, "subscription"), mail, common)
    if kind in _IGNORED:
        return [], [f"SES {kind} event: nothing to learn about recipients"]
    return [], [f"not an SES notification this reader knows (type {kind!r}): ignored"]


def _bounces(bounce: dict[str, Any], common: dict[str, Any]) -> Reading:
    kind, subtype = ident(bounce, "bounceType"), ident(bounce, "bounceSubType")
    claimed = "/".join(filter(None, (kind, subtype))) or None
    when, event_id, remote = iso_time(bounce, "timestamp"), ident(bounce, "feedbackId"), ident(bounce, "remoteMtaIp")
    facts, notes = [], []
    for i, entry in enumerate(records(bounce, "bouncedRecipients")):
        recipient = address(entry.get("emailAddress"))
        if recipient is None:
            notes.append(f"bouncedRecipients[{i}]: no usable emailAddress; skipped")
            continue
        code, status = split_status(entry.get("status"))
        failure = read_failure(code, status, text(entry, "diagnosticCode"))
        reason = (
            BounceReason.SUPPRESSED if subtype in _NOT_SENT else settle(failure, _SUBTYPE_LABELS.get(subtype or ""))
        )
        action = DsnAction.DELAYED if ident(entry, "action") == "delayed" else DsnAction.FAILED
        facts.append(
            BounceFact(
                recipient=recipient,
                event=EventKind.BOUNCE,
                reason=reason,
                action=action,
                claimed_type=claimed,
                timestamp=when,
                event_id=event_id,
                remote_mta=remote,
                **failure_fields(failure),
                **common,
            )
        )
    return facts, notes


def _complaints(complaint: dict[str, Any], mail: dict[str, Any], common: dict[str, Any]) -> Reading:
    when, event_id = iso_time(complaint, "timestamp"), ident(complaint, "feedbackId")
    feedback = (ident(complaint, "complaintFeedbackType") or "").lower() or None
    suppressed = ident(complaint, "complaintSubType") == "OnAccountSuppressionList"
    recipients = _addresses(r.get("emailAddress") for r in records(complaint, "complainedRecipients"))
    notes = []
    if len(_addresses(items(mail, "destination"))) > 1:
        notes.append(
            "SES complaint on a multi-recipient send: SES may have inferred the complainer from the recipients"
        )
    facts = [
        BounceFact(
            recipient=r,
            event=EventKind.BOUNCE,
            reason=BounceReason.SUPPRESSED,
            action=DsnAction.FAILED,
            claimed_type="Complaint/OnAccountSuppressionList",
            timestamp=when,
            event_id=event_id,
            **common,
        )
        if suppressed
        else BounceFact(
            recipient=r,
            event=EventKind.COMPLAINT,
            reason=BounceReason.FEEDBACK,
            feedback_type=feedback,
            claimed_type="Complaint",
            timestamp=when,
            event_id=event_id,
            **common,
        )
        for r in recipients
    ]
    return facts, notes


def _deliveries(delivery: dict[str, Any], common: dict[str, Any]) -> Reading:
    failure = read_failure(None, None, text(delivery, "smtpResponse"))  # "250 2.6.0 Message received"
    fields = failure_fields(failure)
    return [
        BounceFact(
            recipient=r,
            event=EventKind.DELIVERED,
            reason=BounceReason.DELIVERED,
            action=DsnAction.DELIVERED,
            timestamp=iso_time(delivery, "timestamp"),
            remote_mta=ident(delivery, "remoteMtaIp"),
            **fields,
            **common,
        )
        for r in _addresses(items(delivery, "recipients"))
    ], []


def _delays(delay: dict[str, Any], common: dict[str, Any]) -> Reading:
    facts = []
    for entry in records(delay, "delayedRecipients"):
        recipient = address(entry.get("emailAddress"))
        if recipient is None:
            continue
        code, status = split_status(entry.get("status"))
        failure = read_failure(code, status, text(entry, "diagnosticCode"))
        facts.append(
            BounceFact(
                recipient=recipient,
                event=EventKind.DEFERRED,
                reason=settle(failure, None),
                action=DsnAction.DELAYED,
                claimed_type=ident(delay, "delayType"),
                timestamp=iso_time(delay, "timestamp"),
                **failure_fields(failure),
                **common,
            )
        )
    return facts, []


def _subscription(subscription: dict[str, Any], mail: dict[str, Any], common: dict[str, Any]) -> Reading:
    if obj(subscription, "newTopicPreferences").get("unsubscribeAll") is not True:
        return [], ["SES Subscription event without unsubscribeAll: topic preferences are not tracked here"]
    return [
        BounceFact(recipient=r, event=EventKind.UNSUBSCRIBE, timestamp=iso_time(subscription, "timestamp"), **common)
        for r in _addresses(items(mail, "destination"))
    ], []


def _addresses(values: Any) -> list[str]:
    return [found for found in (address(v) for v in values) if found is not None]


def _tag(mail: dict[str, Any], name: str) -> str | None:
    """The first value of a message tag: SES sends ``"tags": {"campaign_id": ["spring"]}``."""
    values = items(obj(mail, "tags"), name)
    return ident({name: values[0]}, name) if values else None
