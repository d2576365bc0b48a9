"""ESP webhooks in, facts out: ``read_webhook`` verifies a request, then reads it (``POST /v1/webhooks/{provider}``).

One ordered registry, one module per provider: ``ses`` (Amazon SES through SNS; its reader,
``readers.ses``, serves the notifications SNS mails too), ``sendgrid``, ``mailgun``, ``postmark``,
``sparkpost``, ``mailjet``, ``resend``.
Each request is first **verified** (``signing``: refused with ``InvalidSignature`` when unsigned,
wrongly signed, stale or from an unexpected SNS topic; ``WebhookNotConfigured`` when the operator set
no secret for that provider), then **read** into ``BounceFact``s by the provider's module, whose
docstring states the payload it accepts.
Reasons are re-derived from the reply (``evidence``); the provider's labels stay evidence.

An SNS ``SubscriptionConfirmation`` yields no facts: the reading carries its ``SubscribeURL``
for the operator to visit (or for the endpoint to log). Nothing here fetches it, nor any
``SigningCertURL``: this package does no I/O at all; certificates and keys arrive loaded in
``WebhookSecrets`` (``bounces.webhook_keys.load_webhook_secrets`` builds it from Settings at start-up).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from validator.bounces.facts import BounceFact
from validator.bounces.readers.ses import read_ses
from validator.bounces.webhooks.mailgun import read_mailgun
from validator.bounces.webhooks.mailjet import read_mailjet
from validator.bounces.webhooks.postmark import read_postmark
from validator.bounces.webhooks.resend import read_resend
from validator.bounces.webhooks.sendgrid import read_sendgrid
from validator.bounces.webhooks.signing import (
    WebhookSecrets,
    lower_headers,
    verify_basic,
    verify_mailgun,
    verify_sendgrid,
    verify_sns,
    verify_svix,
)
from validator.bounces.webhooks.sparkpost import read_sparkpost
from validator.errors import InvalidJson, NotFound, TooManyItems, WebhookNotConfigured
from validator.wire.body import decode_json

__all__ = ["PROVIDERS", "WebhookReading", "WebhookSecrets", "read_trusted", "read_webhook"]

DEFAULT_MAX_EVENTS = 10_000
_BASIC = {"postmark": "Postmark", "sparkpost": "SparkPost", "mailjet": "Mailjet"}  # no signature: HTTP Basic
# "https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&..." (amazonaws.com.cn in China)
_SNS_URL = re.compile(r"https://sns\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?/")


@dataclass(frozen=True, slots=True)
class WebhookReading:
    """What one webhook request said: its facts, and notes for the audit trail.

    ``delivery_id`` is the provider's id for this delivery of the request (SNS ``MessageId``,
    Mailgun's signature token, SparkPost's batch id, Resend's ``svix-id``), a key to drop replays;
    ``subscribe_url`` is set for an SNS ``SubscriptionConfirmation`` and was **not** visited.
    """

    provider: str
    facts: tuple[BounceFact, ...]
    notes: tuple[str, ...] = ()
    delivery_id: str | None = None
    subscribe_url: str | None = None


Reader = Callable[[Any], tuple[list[BounceFact], list[str]]]
PROVIDERS: dict[str, Reader] = {
    "ses": read_ses,
    "sendgrid": read_sendgrid,
    "mailgun": read_mailgun,
    "postmark": read_postmark,
    "sparkpost": read_sparkpost,
    "mailjet": read_mailjet,
    "resend": read_resend,
}


def read_webhook(
    provider: str,
    headers: Mapping[str, str],
    body: bytes,
    secrets: WebhookSecrets,
    now: datetime,
    *,
    max_events: int = DEFAULT_MAX_EVENTS,
) -> WebhookReading:
    """Verify one webhook request, then read it; ``now`` is timezone-aware (the replay window's clock)."""
    if provider not in PROVIDERS:
        raise NotFound(f"no webhook for provider {provider!r}; known: {', '.join(PROVIDERS)}", field="provider")
    if not secrets.configured(provider):
        raise WebhookNotConfigured(f"the {provider} webhook is not configured on this service", field="provider")
    lowered = lower_headers(headers)
    if provider == "sendgrid":
        verify_sendgrid(lowered, body, secrets, now)
        return _reading(provider, decode_json(body), max_events)
    if provider == "resend":
        delivery = verify_svix(lowered, body, secrets, now)
        return _reading(provider, decode_json(body), max_events, delivery_id=delivery)
    if provider in _BASIC:
        verify_basic(lowered, secrets.basic(provider), _BASIC[provider])
        batch = lowered.get("x-messagesystems-batch-id") if provider == "sparkpost" else None  # kept by a retry
        return _reading(provider, decode_json(body), max_events, delivery_id=batch)
    payload = decode_json(body)  # SNS and Mailgun sign fields inside the body
    if provider == "mailgun":
        return _reading(provider, payload, max_events, delivery_id=verify_mailgun(payload, secrets, now))
    if not isinstance(payload, dict):
        raise InvalidJson("an SNS message is a JSON object")
    verify_sns(payload, secrets, now)
    return _sns_reading(payload, max_events)


def read_trusted(provider: str, payload: Any, *, max_events: int = DEFAULT_MAX_EVENTS) -> WebhookReading:
    """Read an already-decoded provider payload **without verification**: for payloads that did not
    come over the network (an exported SendGrid bounce list, a stored SES notification, the corpus).
    ``payload`` for ``ses`` is the SES notification itself (the SNS ``Message``), not the envelope.
    """
    if provider not in PROVIDERS:
        raise NotFound(f"no reader for provider {provider!r}; known: {', '.join(PROVIDERS)}", field="provider")
    return _reading(provider, payload, max_events)


def _sns_reading(envelope: dict[str, Any], max_events: int) -> WebhookReading:
    kind, message_id = envelope["Type"], envelope.get("MessageId")
    delivery = message_id if isinstance(message_id, str) else None
    if kind == "SubscriptionConfirmation":
        url = envelope["SubscribeURL"]  # signed, so present and a string
        if not _SNS_URL.match(url):  # signed by SNS, yet an operator will open it: only SNS's own host
            return WebhookReading(
                "ses",
                (),
                ("SNS subscription confirmation whose SubscribeURL is not an SNS host: not reported",),
                delivery,
            )
        note = (
            f"SNS subscription confirmation for {envelope['TopicArn']}: an operator must visit the "
            "SubscribeURL to start notifications; this service did not fetch it"
        )
        return WebhookReading("ses", (), (note,), delivery, url)
    if kind == "UnsubscribeConfirmation":
        return WebhookReading("ses", (), (f"SNS unsubscribe confirmation for {envelope['TopicArn']}",), delivery)
    try:
        message = orjson.loads(envelope["Message"])
    except orjson.JSONDecodeError:
        return WebhookReading(
            "ses", (), ("SNS notification whose Message is not JSON: not an SES notification",), delivery
        )
    return _reading("ses", message, max_events, delivery_id=delivery)


def _reading(provider: str, payload: Any, max_events: int, *, delivery_id: str | None = None) -> WebhookReading:
    events = payload.get("results") if isinstance(payload, dict) else payload  # a SparkPost Events API page
    if isinstance(events, list) and len(events) > max_events:
        raise TooManyItems(f"at most {max_events} events per request, got {len(events)}", field="events")
    facts, notes = PROVIDERS[provider](payload)
    return WebhookReading(provider, tuple(facts), tuple(notes), delivery_id)
