"""Fuzz: whatever arrives, the bounce readers answer well-formed facts or a 4xx ValidatorError, never a crash.

"Well-formed" is what ingestion relies on without checking again (``assert_fact``): a recipient
without CR/LF/NUL and within the wire's bound, an event and reason from their vocabularies, an
enhanced status code of RFC 3463's shape, a basic reply code of RFC 5321's range, a bounded
diagnostic and a UTC time. A refusal must map to a 4xx answer (``status_for``), never the 500
that a bare ``ValidatorError`` or any other exception would be.
"""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.support.webhook_signers import (
    MAILJET,
    NOW,
    POSTMARK,
    SPARKPOST,
    Keys,
    basic,
    mailgun_body,
    make_keys,
    sendgrid_headers,
    sns_envelope,
)
from validator.api.middleware import status_for
from validator.bounces.events import read_events
from validator.bounces.evidence import ENHANCED_STATUS
from validator.bounces.facts import BounceFact, BounceReason, DsnAction, EventKind, StatusSource
from validator.bounces.webhooks import PROVIDERS, WebhookReading, read_trusted, read_webhook
from validator.errors import ValidatorError
from validator.suppressions.keys import MAX_DETAIL

KEYS: Keys = make_keys()
SECRETS = KEYS.secrets()
FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MAX_TEXT = 1024  # the wire's bound on an address or an id (events.MAX_TEXT, webhooks.payload.MAX_TEXT)
WIRE_EVENTS = {EventKind.SENT, EventKind.DELIVERED, EventKind.BOUNCE, EventKind.DEFERRED}
WIRE_EVENTS |= {EventKind.COMPLAINT, EventKind.UNSUBSCRIBE}  # what a JSON event or a webhook can report


def assert_fact(fact: object) -> None:
    """One fact as ingestion takes it: every field of its type, within its vocabulary and bounds."""
    assert isinstance(fact, BounceFact), fact
    assert isinstance(fact.recipient, str) and len(fact.recipient) <= MAX_TEXT, fact
    assert not any(c in fact.recipient for c in "\r\n\x00"), fact  # header injection into SMTP or logs
    assert isinstance(fact.event, EventKind) and fact.event in WIRE_EVENTS, fact
    assert fact.reason is None or isinstance(fact.reason, BounceReason), fact
    assert fact.action is None or isinstance(fact.action, DsnAction), fact
    assert fact.status is None or ENHANCED_STATUS.fullmatch(fact.status), fact  # RFC 3463 §2
    assert fact.status_source is None or isinstance(fact.status_source, StatusSource), fact
    assert (fact.status is None) == (fact.status_source is None), fact  # a code always says where it came from
    assert fact.reply_code is None or (type(fact.reply_code) is int and 200 <= fact.reply_code <= 599), fact
    assert fact.diagnostic is None or (isinstance(fact.diagnostic, str) and len(fact.diagnostic) <= MAX_DETAIL)
    assert fact.timestamp is None or fact.timestamp.utcoffset() == timedelta(0), fact
    if fact.event is EventKind.BOUNCE:  # a failure always has a reason, "undefined" at worst (events.py)
        assert fact.reason is not None and fact.action is DsnAction.FAILED, fact


def assert_reading(reading: object, provider: str) -> None:
    """A webhook's reading: its provider's facts, each naming something that can be an address."""
    assert isinstance(reading, WebhookReading) and reading.provider == provider, reading
    assert isinstance(reading.facts, tuple) and isinstance(reading.notes, tuple), reading
    for fact in reading.facts:
        assert_fact(fact)
        assert "@" in fact.recipient and fact.recipient == fact.recipient.strip(), fact  # webhooks.payload.address
    assert all(isinstance(note, str) for note in reading.notes), reading
    assert reading.subscribe_url is None or reading.subscribe_url.startswith("https://sns."), reading


def assert_refusal(error: ValidatorError) -> None:
    """A refusal the HTTP edge answers with a 4xx, a stable code and a message."""
    assert 400 <= status_for(error) < 500, (type(error), error)
    assert error.code != ValidatorError.code and error.message, (type(error), error)


# field names the readers look for, so generated objects reach past the first lookup
NAMES = [
    "event", "email", "type", "status", "reason", "response", "timestamp", "sg_event_id", "sg_message_id",
    "notificationType", "eventType", "mail", "bounce", "bounceType", "bounceSubType", "bouncedRecipients",
    "emailAddress", "diagnosticCode", "complaint", "complainedRecipients", "complaintFeedbackType",
    "complaintSubType", "delivery", "recipients", "smtpResponse", "deliveryDelay", "delayedRecipients",
    "destination", "subscription", "newTopicPreferences", "unsubscribeAll", "event-data", "severity", "recipient",
    "delivery-status", "code", "enhanced-code", "message", "description", "mx-host", "envelope", "sender",
    "headers", "message-id", "RecordType", "Type", "Email", "Recipient", "Details", "Description", "BouncedAt",
    "Inactive", "SuppressSending", "SuppressionReason", "ID", "MessageID",
]  # fmt: skip
VALUES = [
    "bounce", "blocked", "dropped", "deferred", "delivered", "spamreport", "failed", "permanent", "temporary",
    "old", "Bounce", "Complaint", "Delivery", "DeliveryDelay", "Send", "Subscription", "Permanent", "Suppressed",
    "HardBounce", "Transient", "SpamComplaint", "SubscriptionChange", "a@example.com", "550 5.1.1 User unknown",
    "5.1.1", "550", "suppress-bounce", "ManualSuppression", "2026-03-15T08:42:11Z",
]  # fmt: skip
leaves = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=40)
    | st.sampled_from(VALUES)
)
json_values = st.recursive(
    leaves,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(NAMES) | st.text(max_size=8), inner, max_size=6)
    ),
    max_leaves=16,
)


# one well-formed event of each wire, so the checks on facts run whatever the generator finds
BOUNCE_EVENT = {"event": "bounce", "email": "a@example.com", "timestamp": "2026-03-15T08:42:11Z", "smtp_code": 550}
MAILGUN_FAILURE = {  # Mailgun's "failed" event as documented, trimmed to the fields read
    "event": "failed",
    "severity": "permanent",
    "recipient": "a@example.com",
    "timestamp": 1773564131,
    "delivery-status": {"code": 550, "message": "5.1.1 The email account that you tried to reach does not exist"},
}


@FUZZ
@example(body=orjson.dumps(BOUNCE_EVENT), content_type="application/json")  # the fact path runs at least once
@given(
    body=st.binary(max_size=300),
    content_type=st.sampled_from(["application/json", "application/x-ndjson", "", "text/plain"]),
)
def test_read_events_on_arbitrary_bytes(body: bytes, content_type: str) -> None:
    try:
        facts = read_events(body, content_type, max_events=50)
    except ValidatorError as error:
        assert_refusal(error)
        return
    assert isinstance(facts, list) and len(facts) <= 50
    for fact in facts:
        assert_fact(fact)


EVENT_FIELDS = [
    "event", "email", "type", "smtp_code", "smtp_enhanced_code", "smtp_message", "timestamp", "provider", "id",
    "feedback_type",
]  # fmt: skip


@FUZZ
@example(events=[BOUNCE_EVENT, {**BOUNCE_EVENT, "event": "delivered", "email": "b@example.com"}])  # read, not refused
@given(events=st.lists(st.dictionaries(st.sampled_from(EVENT_FIELDS), json_values, max_size=8), max_size=4))
def test_read_events_on_event_shaped_json(events: list) -> None:
    try:
        facts = read_events(orjson.dumps(events), "application/json")
    except ValidatorError as error:
        assert_refusal(error)
        return
    for fact in facts:
        assert_fact(fact)
    # all or nothing, one fact per event, in order: the recipient and the event as sent
    assert [(fact.recipient, fact.event.value) for fact in facts] == [(e["email"], e["event"]) for e in events]


@FUZZ
@given(
    provider=st.sampled_from(sorted(PROVIDERS)),
    body=st.binary(max_size=300),
    headers=st.dictionaries(st.text(max_size=40), st.text(max_size=60), max_size=3),
)
def test_read_webhook_on_arbitrary_bytes(provider: str, body: bytes, headers: dict[str, str]) -> None:
    try:
        reading = read_webhook(provider, headers, body, SECRETS, NOW)
    except ValidatorError as error:
        assert_refusal(error)
        return
    raise AssertionError(f"an unsigned {provider} request was read: {reading!r}")  # no signature, no facts


@FUZZ
@example(provider="mailgun", payload={"event-data": MAILGUN_FAILURE})  # a payload that yields a fact
@given(provider=st.sampled_from(sorted(PROVIDERS)), payload=json_values)
def test_verified_payloads_of_any_shape_are_read_without_error(provider: str, payload: object) -> None:
    reading = read_trusted(provider, payload)  # past verification the reader is tolerant: no error at all
    assert_reading(reading, provider)


@FUZZ
@given(message=json_values)
def test_signed_sns_notification_with_any_message(message: object) -> None:
    envelope = sns_envelope(KEYS.sns, message if not isinstance(message, str) else message)
    assert_reading(read_webhook("ses", {}, orjson.dumps(envelope), SECRETS, NOW), "ses")


SNS_FIELDS = [
    "Type", "MessageId", "TopicArn", "Message", "Timestamp", "SignatureVersion", "Signature", "Subject", "Token",
    "SubscribeURL",
]  # fmt: skip


@FUZZ
@example(envelope={"Type": ["Notification"]})  # unhashable where a name is expected
@example(envelope={"Type": "Notification", "SignatureVersion": "2", "Signature": "AAAA", "TopicArn": {}})
@given(
    envelope=st.dictionaries(
        st.sampled_from(SNS_FIELDS), json_values | st.sampled_from(["Notification", "1", "2", "AAAA"]), max_size=10
    )
)
def test_sns_shaped_envelopes_of_any_types(envelope: dict) -> None:
    try:
        reading = read_webhook("ses", {}, orjson.dumps(envelope), SECRETS, NOW)
    except ValidatorError as error:
        assert_refusal(error)
        return
    raise AssertionError(f"an SNS envelope without our topic's signature was read: {reading!r}")


@FUZZ
@given(events=json_values)
def test_signed_sendgrid_batch_of_any_shape(events: object) -> None:
    body = orjson.dumps(events)
    assert_reading(read_webhook("sendgrid", sendgrid_headers(KEYS.sendgrid, body), body, SECRETS, NOW), "sendgrid")


@FUZZ
@example(event_data=MAILGUN_FAILURE)  # a signed event that yields a fact
@given(event_data=st.dictionaries(st.sampled_from(NAMES), json_values, max_size=8))
def test_signed_mailgun_event_of_any_shape(event_data: dict) -> None:
    assert_reading(read_webhook("mailgun", {}, mailgun_body(event_data), SECRETS, NOW), "mailgun")


@pytest.mark.parametrize("body", [b"[]", b"{}", b"null", b'"x"', b"[[[]]]", b'[{"msys": 1}]', b'{"msys": {"x": []}}'])
@pytest.mark.parametrize(
    ("provider", "credentials"), [("postmark", POSTMARK), ("sparkpost", SPARKPOST), ("mailjet", MAILJET)]
)
def test_basic_auth_providers_odd_but_authorised_bodies(provider: str, credentials, body: bytes) -> None:
    reading = read_webhook(provider, basic(credentials.user, credentials.password), body, SECRETS, NOW)
    assert_reading(reading, provider)
    assert reading.facts == ()  # none of these bodies names a recipient
