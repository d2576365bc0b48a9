"""Fuzz: whatever arrives, the bounce readers answer facts or a ValidatorError, never a crash (a 500)."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.support.webhook_signers import (
    NOW,
    POSTMARK,
    Keys,
    basic,
    mailgun_body,
    make_keys,
    sendgrid_headers,
    sns_envelope,
)
from validator.bounces.events import read_events
from validator.bounces.webhooks import PROVIDERS, read_trusted, read_webhook
from validator.errors import ValidatorError

KEYS: Keys = make_keys()
SECRETS = KEYS.secrets()
FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# field names the readers look for, so generated objects reach past the first lookup
NAMES = [
    "event",
    "email",
    "type",
    "status",
    "reason",
    "response",
    "timestamp",
    "sg_event_id",
    "sg_message_id",
    "notificationType",
    "eventType",
    "mail",
    "bounce",
    "bounceType",
    "bounceSubType",
    "bouncedRecipients",
    "emailAddress",
    "diagnosticCode",
    "complaint",
    "complainedRecipients",
    "complaintFeedbackType",
    "complaintSubType",
    "delivery",
    "recipients",
    "smtpResponse",
    "deliveryDelay",
    "delayedRecipients",
    "destination",
    "subscription",
    "newTopicPreferences",
    "unsubscribeAll",
    "event-data",
    "severity",
    "recipient",
    "delivery-status",
    "code",
    "enhanced-code",
    "message",
    "description",
    "mx-host",
    "envelope",
    "sender",
    "headers",
    "message-id",
    "RecordType",
    "Type",
    "Email",
    "Recipient",
    "Details",
    "Description",
    "BouncedAt",
    "Inactive",
    "SuppressSending",
    "SuppressionReason",
    "ID",
    "MessageID",
]
VALUES = [
    "bounce",
    "blocked",
    "dropped",
    "deferred",
    "delivered",
    "spamreport",
    "failed",
    "permanent",
    "temporary",
    "old",
    "Bounce",
    "Complaint",
    "Delivery",
    "DeliveryDelay",
    "Send",
    "Subscription",
    "Permanent",
    "Suppressed",
    "HardBounce",
    "Transient",
    "SpamComplaint",
    "SubscriptionChange",
    "a@example.com",
    "550 5.1.1 User unknown",
    "5.1.1",
    "550",
    "suppress-bounce",
    "ManualSuppression",
    "2026-03-15T08:42:11Z",
]
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


@FUZZ
@given(
    body=st.binary(max_size=300),
    content_type=st.sampled_from(["application/json", "application/x-ndjson", "", "text/plain"]),
)
def test_read_events_on_arbitrary_bytes(body: bytes, content_type: str) -> None:
    try:
        read_events(body, content_type, max_events=50)
    except ValidatorError:
        pass


EVENT_FIELDS = [
    "event",
    "email",
    "type",
    "smtp_code",
    "smtp_enhanced_code",
    "smtp_message",
    "timestamp",
    "provider",
    "id",
    "feedback_type",
]


@FUZZ
@given(events=st.lists(st.dictionaries(st.sampled_from(EVENT_FIELDS), json_values, max_size=8), max_size=4))
def test_read_events_on_event_shaped_json(events: list) -> None:
    try:
        read_events(orjson.dumps(events), "application/json")
    except ValidatorError:
        pass


@FUZZ
@given(
    provider=st.sampled_from(sorted(PROVIDERS)),
    body=st.binary(max_size=300),
    headers=st.dictionaries(st.text(max_size=40), st.text(max_size=60), max_size=3),
)
def test_read_webhook_on_arbitrary_bytes(provider: str, body: bytes, headers: dict[str, str]) -> None:
    try:
        read_webhook(provider, headers, body, SECRETS, NOW)
    except ValidatorError:
        pass


@FUZZ
@given(provider=st.sampled_from(sorted(PROVIDERS)), payload=json_values)
def test_verified_payloads_of_any_shape_are_read_without_error(provider: str, payload: object) -> None:
    reading = read_trusted(provider, payload)  # past verification the reader is tolerant: no error at all
    assert all("@" in fact.recipient for fact in reading.facts)


@FUZZ
@given(message=json_values)
def test_signed_sns_notification_with_any_message(message: object) -> None:
    envelope = sns_envelope(KEYS.sns, message if not isinstance(message, str) else message)
    read_webhook("ses", {}, orjson.dumps(envelope), SECRETS, NOW)


SNS_FIELDS = [
    "Type",
    "MessageId",
    "TopicArn",
    "Message",
    "Timestamp",
    "SignatureVersion",
    "Signature",
    "Subject",
    "Token",
    "SubscribeURL",
]


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
        read_webhook("ses", {}, orjson.dumps(envelope), SECRETS, NOW)
    except ValidatorError:
        pass


@FUZZ
@given(events=json_values)
def test_signed_sendgrid_batch_of_any_shape(events: object) -> None:
    body = orjson.dumps(events)
    read_webhook("sendgrid", sendgrid_headers(KEYS.sendgrid, body), body, SECRETS, NOW)


@FUZZ
@given(event_data=st.dictionaries(st.sampled_from(NAMES), json_values, max_size=8))
def test_signed_mailgun_event_of_any_shape(event_data: dict) -> None:
    read_webhook("mailgun", {}, mailgun_body(event_data), SECRETS, NOW)


@pytest.mark.parametrize("body", [b"[]", b"{}", b"null", b'"x"', b"[[[]]]"])
def test_postmark_odd_but_authorised_bodies(body: bytes) -> None:
    read_webhook("postmark", basic(POSTMARK.user, POSTMARK.password), body, SECRETS, NOW)
