"""Amazon SES notifications delivered by email: an SNS topic's email subscription mails the JSON as the body.

"Subject: AWS Notification Message", body ``{"Type": "Notification", "Message": "{\\"notificationType\\":
\\"Bounce\\", ...}"}`` (SNS envelope) or the SES JSON itself. Field names from the SES notification
contents reference (bounce-anchors §4.1). Pure: text in, ``SesRecord`` values out; no network.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

_MAX_JSON = 256_000


@dataclass(frozen=True, slots=True)
class SesRecord:
    kind: str  # "bounce", "complaint", "delivery"
    recipient: str
    status: str | None = None
    diagnostic: str | None = None  # diagnosticCode: "smtp; 550 5.1.1 user unknown"
    claimed_type: str | None = None  # "Permanent/General": SES's own label, evidence only
    feedback_type: str | None = None
    message_id: str | None = None  # mail.messageId: the send
    timestamp: str | None = None
    remote_mta: str | None = None


def read_notification(text: str) -> list[SesRecord] | None:
    """The records of an SES notification body; None when the body is no SES notification."""
    body = text.strip()
    if not body.startswith("{") or len(body) > _MAX_JSON:
        return None
    # SNS appends "--\nIf you wish to stop receiving notifications ..." and mail clients wrap long lines:
    # read the first JSON value, control characters inside strings allowed
    decoder = json.JSONDecoder(strict=False)
    try:
        data = decoder.raw_decode(body)[0]
        if isinstance(data, dict) and isinstance(data.get("Message"), str):  # the SNS envelope
            data = decoder.raw_decode(data["Message"].strip())[0]
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    kind = str(data.get("notificationType") or data.get("eventType") or "").lower()
    mail = _dict(data.get("mail"))
    message_id = _str(mail.get("messageId"))
    if kind == "bounce":
        bounce = _dict(data.get("bounce"))
        claimed = "/".join(filter(None, (_str(bounce.get("bounceType")), _str(bounce.get("bounceSubType")))))
        return [
            SesRecord(
                "bounce",
                address,
                _str(r.get("status")),
                _str(r.get("diagnosticCode")),
                claimed or None,
                None,
                message_id,
                _str(bounce.get("timestamp")),
                _str(bounce.get("reportingMTA")),
            )
            for r in _dicts(bounce.get("bouncedRecipients"))
            if (address := _str(r.get("emailAddress")))
        ]
    if kind == "complaint":
        complaint = _dict(data.get("complaint"))
        feedback = _str(complaint.get("complaintFeedbackType")) or "abuse"
        return [
            SesRecord(
                "complaint",
                address,
                feedback_type=feedback,
                message_id=message_id,
                timestamp=_str(complaint.get("timestamp")),
            )
            for r in _dicts(complaint.get("complainedRecipients"))
            if (address := _str(r.get("emailAddress")))
        ]
    if kind == "delivery":
        delivery = _dict(data.get("delivery"))
        recipients = [_str(r) for r in _list(delivery.get("recipients"))] or [
            _str(r) for r in _list(mail.get("destination"))
        ]
        return [
            SesRecord("delivery", r, message_id=message_id, timestamp=_str(delivery.get("timestamp")))
            for r in recipients
            if r
        ]
    return None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in _list(value) if isinstance(item, dict)]


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
