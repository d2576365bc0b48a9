"""Amazon SES notifications → facts: the one reader, whether the JSON came by webhook or by mail.

SES publishes through an SNS topic, which delivers either to an HTTPS endpoint (``webhooks``
verifies the SNS envelope, then hands its ``Message`` to ``read_ses``) or to an email
subscription ("Subject: AWS Notification Message", the SNS envelope or the bare SES JSON as the
body: ``notification_in`` finds it, then ``readers.message`` calls the same ``read_ses``). One
reader means one notification gives the same facts however it arrived.

Accepted notification: the JSON object SES publishes, either as a *notification* (``notificationType``)
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

Field names from Amazon SES's "Contents of notifications" and "Event publishing" references.
Pure and tolerant: a missing field is a missing fact detail, never an exception.
"""

from __future__ import annotations

import json
from typing import Any

from validator.bounces.evidence import Failure, failure_fields, read_failure, settle, split_status
from validator.bounces.facts import BounceFact, BounceReason, DsnAction, EventKind
from validator.bounces.payload import address, ident, iso_time, items, obj, records, text

# bounceSubType → reason, used only when the reply says too little (SES "Contents of notifications": bounce types)
_SUBTYPE_LABELS = {
    "NoEmail": BounceReason.USERUNKNOWN,
    "MailboxFull": BounceReason.MAILBOXFULL,
    "MessageTooLarge": BounceReason.MESGTOOBIG,
    "ContentRejected": BounceReason.CONTENTERROR,
    "AttachmentRejected": BounceReason.CONTENTERROR,
}
_NOT_SENT = {"Suppressed", "OnAccountSuppressionList"}  # SES's own lists: nothing reached a server
_IGNORED = {"Reject", "Open", "Click", "Rendering Failure", "RenderingFailure"}

_KINDS = {
    name.casefold(): name
    for name in ("Bounce", "Complaint", "Delivery", "DeliveryDelay", "Send", "Subscription", *_IGNORED)
}
REPORTS = frozenset({"Bounce", "Complaint"})  # the kinds that name recipients by nature: one without any is broken
_MAX_BODY = 256_000  # a mailed notification: SES's own JSON is a few KB, with the original's headers tens of KB

Reading = tuple[list[BounceFact], list[str]]


def notification_in(body: str) -> dict[str, Any] | None:
    """The SES notification a mailed body carries (inside an SNS envelope or bare); None when it carries none.

    SNS appends "--\nIf you wish to stop receiving notifications ..." to the JSON and mail clients wrap
    long lines, so only the first JSON value is read, control characters inside strings allowed.
    """
    text = body.strip()
    if not text.startswith("{") or len(text) > _MAX_BODY:
        return None
    decoder = json.JSONDecoder(strict=False)
    try:
        data = decoder.raw_decode(text)[0]
        if isinstance(data, dict) and isinstance(data.get("Message"), str):  # the SNS envelope
            data = decoder.raw_decode(data["Message"].strip())[0]
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) and kind_of(data) is not None else None


def kind_of(notification: Any) -> str | None:
    """``Bounce``, ``Complaint``, ...: the notification's type as SES spells it; None when it names none."""
    named = ident(notification, "notificationType") or ident(notification, "eventType")
    return _KINDS.get(named.casefold(), named) if named else None


def read_ses(message: Any) -> Reading:
    """Facts and notes of one SES notification or event."""
    kind = kind_of(message)
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
        reason = subtype_reason(subtype, failure)
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


def subtype_reason(subtype: str | None, failure: Failure) -> BounceReason:
    """A bounce's reason from the reply, SES's ``bounceSubType`` only where the reply says too little
    (Resend reports SES's types in its own webhooks, and reads them with this too)."""
    return BounceReason.SUPPRESSED if subtype in _NOT_SENT else settle(failure, _SUBTYPE_LABELS.get(subtype or ""))


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
