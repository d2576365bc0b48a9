"""SparkPost webhook batches → facts.

Accepted payload (SparkPost's Webhooks API reference): a JSON array of events, each
``{"msys": {"<class>_event": {...}}}``; a lone object is read as a one-event batch, and
``[{"msys": {}}]``, the test batch SparkPost posts when a webhook is created, reads as nothing.
A page of the Events API (``GET /api/v1/events/message``: ``{"results": [...]}`` of the same
events, unwrapped) is read too, so an exported history goes through the same rules
(``validator ingest --provider sparkpost``). Each event has ``type``, ``rcpt_to``
(``raw_rcpt_to`` as given to SparkPost), ``event_id``, ``message_id``, ``campaign_id``,
``timestamp`` (Unix seconds as text), ``msg_from``; per type:

- ``message_event`` ``bounce`` (in session) and ``out_of_band`` (accepted, then bounced):
  ``raw_reason`` (the remote's reply, unmodified), ``reason``, ``error_code``, ``bounce_class``.
  The reason is re-derived from the reply; the class is kept in ``claimed_type`` and decides only
  when the reply says too little (SparkPost's "Bounce Classification Codes": 10 Invalid Recipient,
  21 DNS Failure, 22 Mailbox Full, 23 Too Large, 24 Timeout, 25 Admin Failure, 26 Smart Send
  Suppression, 50 Mail Block, 51 Spam Block, 52 Spam Content, 53 Prohibited Attachment, 54
  Relaying Denied). Classes 60 (Auto-Reply) and 100 (Challenge-Response) are auto-replies and 90
  an unsubscribe request, whatever the type says. 1, 20, 30, 40 and 70 name no cause: the reply decides.
- ``delay``: deferred, never a bounce. ``delivery``: delivered. ``injection``: sent.
- ``policy_rejection``: SparkPost itself refused to send (its suppression list, a policy):
  reason ``suppressed``, its words kept as the diagnostic.
- ``spam_complaint``: complaint, ``fbtype`` as the feedback type (``abuse`` when absent).
- ``list_unsubscribe``, ``link_unsubscribe`` (``unsubscribe_event``): unsubscribe.
- Tracking (open, click), generation, relay and other types: noted, no facts.

Pure and tolerant: a missing field is a missing fact detail, never an exception.
"""

from __future__ import annotations

from typing import Any

from validator.bounces.evidence import failure_fields, read_failure, settle, split_status
from validator.bounces.facts import BounceFact, BounceReason, DsnAction, EventKind
from validator.bounces.payload import address, epoch_time, ident, obj, text

Reading = tuple[list[BounceFact], list[str]]

# bounce_class → reason, used only when the reply says too little
_CLASS_LABELS = {
    "10": BounceReason.USERUNKNOWN,  # Invalid Recipient
    "21": BounceReason.NETWORKERROR,  # DNS Failure
    "22": BounceReason.MAILBOXFULL,
    "23": BounceReason.MESGTOOBIG,
    "24": BounceReason.EXPIRED,  # Timeout
    "25": BounceReason.SUPPRESSED,  # Admin Failure: failed by SparkPost's own policy, never sent
    "26": BounceReason.SUPPRESSED,  # Smart Send Suppression
    "50": BounceReason.BLOCKED,  # Mail Block
    "51": BounceReason.BADREPUTATION,  # Spam Block: "a known spam source"
    "52": BounceReason.SPAMDETECTED,  # Spam Content
    "53": BounceReason.CONTENTERROR,  # Prohibited Attachment
    "54": BounceReason.NORELAYING,  # Relaying Denied
}
_AUTO_REPLY_CLASSES = {"60", "100"}  # Auto-Reply, Challenge-Response
_UNSUBSCRIBE_CLASS = "90"
_FAILURES = {"bounce", "out_of_band"}
_UNSUBSCRIBES = {"list_unsubscribe", "link_unsubscribe"}
_READ = _FAILURES | _UNSUBSCRIBES | {"delay", "policy_rejection", "delivery", "injection", "spam_complaint"}


def read_sparkpost(payload: Any) -> Reading:
    page = payload.get("results") if isinstance(payload, dict) else None
    batch = page if isinstance(page, list) else payload if isinstance(payload, list) else [payload]
    facts: list[BounceFact] = []
    notes: list[str] = []
    noted: dict[str, int] = {}
    for i, item in enumerate(batch):
        event = _event(item)
        if event is None:
            notes.append(f"events[{i}]: no event (SparkPost's test batch has none): nothing read")
            continue
        kind = ident(event, "type") or "untyped"
        if kind not in _READ:
            noted[kind] = noted.get(kind, 0) + 1
            continue
        recipient = address(event.get("rcpt_to") or event.get("raw_rcpt_to"))
        if recipient is None:
            notes.append(f"events[{i}]: {kind} without a usable rcpt_to; skipped")
            continue
        facts.append(_fact(kind, recipient, event))
    notes += [f"{count} {kind} event(s): nothing to learn about recipients" for kind, count in sorted(noted.items())]
    return facts, notes


def _event(item: Any) -> dict[str, Any] | None:
    """The one event of a webhook item (``msys.<class>_event``), or an Events API event as it is."""
    msys = obj(item, "msys")
    if msys:
        event = next(iter(msys.values()))
        return event if isinstance(event, dict) else {}
    return item if isinstance(item, dict) and "type" in item else None


def _fact(kind: str, recipient: str, event: dict[str, Any]) -> BounceFact:
    common: dict[str, Any] = {
        "recipient": recipient,
        "timestamp": epoch_time(event, "timestamp"),
        "event_id": ident(event, "event_id"),
        "message_id": ident(event, "message_id"),
        "provider": "sparkpost",
        "campaign_id": ident(event, "campaign_id"),
        "sender": ident(event, "msg_from"),
    }
    bounce_class = ident(event, "bounce_class")
    claimed = "/".join(filter(None, (kind, bounce_class)))
    if kind in _FAILURES and bounce_class in _AUTO_REPLY_CLASSES:
        return BounceFact(event=EventKind.AUTO_REPLY, reason=BounceReason.VACATION, claimed_type=claimed, **common)
    if kind in _FAILURES and bounce_class == _UNSUBSCRIBE_CLASS:
        return BounceFact(event=EventKind.UNSUBSCRIBE, claimed_type=claimed, **common)
    if kind in _FAILURES or kind == "delay":
        code, status = split_status(event.get("error_code"))
        failure = read_failure(code, status, text(event, "raw_reason") or text(event, "reason"))
        failed = kind in _FAILURES
        return BounceFact(
            event=EventKind.BOUNCE if failed else EventKind.DEFERRED,
            reason=settle(failure, _CLASS_LABELS.get(bounce_class or "")),
            action=DsnAction.FAILED if failed else DsnAction.DELAYED,
            claimed_type=claimed,
            **failure_fields(failure),
            **common,
        )
    if kind == "policy_rejection":
        return BounceFact(
            event=EventKind.BOUNCE,
            reason=BounceReason.SUPPRESSED,
            action=DsnAction.FAILED,
            claimed_type=claimed,
            diagnostic=text(event, "raw_reason") or text(event, "reason"),
            **common,
        )
    if kind == "delivery":
        return BounceFact(
            event=EventKind.DELIVERED, reason=BounceReason.DELIVERED, action=DsnAction.DELIVERED, **common
        )
    if kind == "injection":
        return BounceFact(event=EventKind.SENT, **common)
    if kind == "spam_complaint":
        feedback = ident(event, "fbtype") or "abuse"
        return BounceFact(
            event=EventKind.COMPLAINT,
            reason=BounceReason.FEEDBACK,
            feedback_type=feedback,
            claimed_type=claimed,
            **common,
        )
    return BounceFact(event=EventKind.UNSUBSCRIBE, claimed_type=kind, **common)  # one of _UNSUBSCRIBES
