"""From what a sending platform reports about one failure (code, status, text) to a fact's failure fields.

JSON events and every ESP webhook report a failure as some of: a basic SMTP code, an enhanced
status, and a diagnostic text that may itself quote the remote server's reply with its codes.
``read_failure`` turns them into one ``Failure``: the reason from ``classify.reason_of`` (so
events, webhooks and raw DSNs agree on the same reply), the status with where it came from,
and the text as reported. A provider's own label (SES ``NoEmail``, Postmark ``HardBounce``) is
consulted only when the reply says too little (``settle``): labels are evidence, the reply
decides (a provider's label is its own guess; the remote server's words are the evidence). Pure: no I/O.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from validator.bounces.classify import reason_of
from validator.bounces.facts import BounceReason, StatusSource
from validator.bounces.reply_parts import smtp_command
from validator.smtp_reply import Reply, parse_reply
from validator.suppressions.keys import MAX_DETAIL

ENHANCED_STATUS = re.compile(r"[245]\.\d{1,3}\.\d{1,3}")  # RFC 3463 §2: class.subject.detail
_BASIC_CODE = re.compile(r"[2-5]\d\d")  # RFC 5321 §4.2
# reason_of's answers that say "the reply told too little": a provider's label may say more
_VAGUE = frozenset({BounceReason.ONHOLD, BounceReason.UNDEFINED})


@dataclass(frozen=True, slots=True)
class Failure:
    """The failure fields of a ``BounceFact``; ``reason`` is None when there was nothing to read."""

    reason: BounceReason | None
    status: str | None
    status_source: StatusSource | None
    reply_code: int | None
    diagnostic: str | None


def split_status(value: object) -> tuple[int | None, str | None]:
    """A provider's ``status`` field → (basic code, enhanced code).

    SendGrid sends either: ``"status": "5.1.1"`` or ``"status": "550"`` (json-sendgrid-01), or none.
    """
    if isinstance(value, int) and not isinstance(value, bool) and 200 <= value <= 599:
        return value, None
    if not isinstance(value, str):
        return None, None
    text = value.strip()
    if ENHANCED_STATUS.fullmatch(text):
        return None, text
    if _BASIC_CODE.fullmatch(text):
        return int(text), None
    return None, None


@functools.lru_cache(maxsize=4096)  # a campaign's bounces repeat a few replies thousands of times
def read_failure(code: int | None, status: str | None, text: str | None) -> Failure:
    """One failure as reported: codes and text found in the text (the remote's words) win over fields."""
    diagnostic = text.strip()[:MAX_DETAIL] if isinstance(text, str) and text.strip() else None
    parsed = parse_reply(diagnostic) if diagnostic else Reply(None, None, "")
    source: StatusSource | None = StatusSource.REMOTE if parsed.enhanced else None
    enhanced = parsed.enhanced
    if enhanced is None and status is not None:
        enhanced, source = status, StatusSource.ESP
    reply_code = parsed.code if parsed.code is not None else code
    if reply_code is None and enhanced is None and not parsed.text:
        return Failure(None, None, None, None, diagnostic)
    # the command the reply answered, when the platform quotes it as MTAs do: "smtp; 550 5.7.1 <x>: Sender address
    # rejected (in reply to MAIL FROM command)" is the sender's trouble; raw DSNs are read with the same rule
    reason = reason_of(Reply(reply_code, enhanced, parsed.text), command=smtp_command(diagnostic or ""))
    return Failure(reason, enhanced, source, reply_code, diagnostic)


def settle(failure: Failure, label: BounceReason | None) -> BounceReason:
    """The reply's reason; the provider's label only where the reply was silent or vague; else undefined."""
    if failure.reason is not None and failure.reason not in _VAGUE:
        return failure.reason
    return label or failure.reason or BounceReason.UNDEFINED


def failure_fields(failure: Failure) -> dict[str, Any]:
    """The ``BounceFact`` keyword arguments a failure fills (``reason`` is the caller's: see ``settle``)."""
    return {
        "status": failure.status,
        "status_source": failure.status_source,
        "reply_code": failure.reply_code,
        "diagnostic": failure.diagnostic,
    }
