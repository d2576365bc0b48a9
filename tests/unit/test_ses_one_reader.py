"""One Amazon SES notification gives the same facts whether SNS mailed it or posted it to the webhook.

SNS delivers a topic's messages to an email subscription ("Subject: AWS Notification Message",
the SNS envelope as the body) and to an HTTPS subscription (the same envelope, signed, as the
request body). Each notification below goes both ways: as a raw mail through ``read_message``
and as a signed SNS request through ``read_webhook``; the two lists of facts must be equal.
"""

from __future__ import annotations

import json
from email import message_from_bytes
from email.policy import compat32
from typing import Any

import orjson
import pytest

from tests.support.testdata import BOUNCES
from tests.support.webhook_signers import NOW, Keys, make_keys, sns_envelope
from validator.bounces.facts import BounceFact, BounceReason, EventKind
from validator.bounces.readers.message import read_message
from validator.bounces.webhooks import read_webhook
from validator.errors import UnparseableMessage

# The corpus's SES notifications that SNS mailed (bounce, complaint, deliveries from SES's mailbox simulator)
MAILED = sorted(p for p in (BOUNCES / "emails").glob("lhost-amazonses-*.eml") if b"AWS Notification" in p.read_bytes())
_MAIL = "lhost-amazonses-09.eml"
_SNS_FOOTER = (
    "\n\n--\nIf you wish to stop receiving notifications from this topic, please click or visit the link below"
)
_COMMON = {
    "mail": {
        "timestamp": "2026-03-15T08:40:00.000Z",
        "messageId": "0100018e4a1c2b3d-5f6a7b8c-9d0e-4f1a-8b2c-3d4e5f6a7b8c-000000",
        "source": "news@example.com",
        "destination": ["kijitora@example.jp", "shironeko@example.org"],
        "tags": {"campaign_id": ["spring"]},
    }
}
# Notifications written after SES's "Contents of notifications" and "Event publishing" references
NOTIFICATIONS = {
    # a refusal quoting the command it answered: the sender's trouble, however it arrived
    "mail-from-refusal": {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [
                {
                    "emailAddress": "kijitora@example.jp",
                    "action": "failed",
                    "status": "5.7.1",
                    "diagnosticCode": "smtp; 550 5.7.1 <news@example.com>: Sender address rejected: "
                    "Access denied (in reply to MAIL FROM command)",
                }
            ],
            "timestamp": "2026-03-15T08:41:00.000Z",
            "feedbackId": "0100018e4a1c2b3d-feedback-000000",
            "remoteMtaIp": "192.0.2.25",
        },
    },
    # SES's own suppression list: nothing reached a server, whatever SES's text says
    "suppressed": {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": "Permanent",
            "bounceSubType": "OnAccountSuppressionList",
            "bouncedRecipients": [
                {
                    "emailAddress": "shironeko@example.org",
                    "action": "failed",
                    "status": "5.1.1",
                    "diagnosticCode": "Amazon SES did not send the message to this address because it is on the "
                    "suppression list for your account.",
                }
            ],
            "timestamp": "2026-03-15T08:41:00.000Z",
            "feedbackId": "0100018e4a1c2b3d-suppressed-000000",
        },
    },
    # a reply that says too little: SES's NoEmail label decides
    "vague-reply-noemail": {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": "Permanent",
            "bounceSubType": "NoEmail",
            "bouncedRecipients": [{"emailAddress": "kijitora@example.jp", "status": "5.0.0"}],
            "timestamp": "2026-03-15T08:41:00.000Z",
        },
    },
    # a complaint whose feedback type SES spells in capitals
    "complaint": {
        "notificationType": "Complaint",
        "complaint": {
            "complainedRecipients": [{"emailAddress": "kijitora@example.jp"}],
            "complaintFeedbackType": "Abuse",
            "timestamp": "2026-03-15T08:42:00.000Z",
            "feedbackId": "0100018e4a1c2b3d-complaint-000000",
        },
    },
    # event publishing: a delay is deferred, never a bounce
    "delivery-delay": {
        "eventType": "DeliveryDelay",
        "deliveryDelay": {
            "delayType": "TransientCommunicationFailure",
            "delayedRecipients": [
                {
                    "emailAddress": "kijitora@example.jp",
                    "status": "4.4.7",
                    "diagnosticCode": "smtp; 421 4.4.2 timed out",
                }
            ],
            "timestamp": "2026-03-15T08:43:00.000Z",
        },
    },
    "delivery": {
        "notificationType": "Delivery",
        "delivery": {
            "recipients": ["kijitora@example.jp", "shironeko@example.org"],
            "smtpResponse": "250 2.6.0 Message received",
            "timestamp": "2026-03-15T08:41:00.000Z",
            "remoteMtaIp": "192.0.2.25",
        },
    },
}


@pytest.fixture(scope="module")
def keys() -> Keys:
    return make_keys()


def by_webhook(keys: Keys, notification: str) -> list[BounceFact]:
    envelope = sns_envelope(keys.sns, notification)
    return list(read_webhook("ses", {}, orjson.dumps(envelope), keys.secrets(), NOW).facts)


def mailed(body: str) -> bytes:
    """The mail an SNS email subscription sends: the envelope as a plain-text body, SNS's footer after it."""
    head = (
        "From: AWS Notifications <no-reply@sns.amazonaws.com>\r\nTo: bounces@example.com\r\n"
        "Subject: AWS Notification Message\r\nDate: Sun, 15 Mar 2026 08:44:00 +0000\r\n"
        "Message-ID: <0100018e4a1c-sns@email.amazonses.com>\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n"
    )
    return (head + body + _SNS_FOOTER).encode()


def sns_mail_body(notification: str) -> str:
    envelope = {"Type": "Notification", "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b", "Message": notification}
    return json.dumps(envelope, indent=2)


def notification_of(raw: bytes) -> str:
    """The SES JSON a mail carries (inside an SNS envelope, or bare with raw message delivery), as SNS would post it:
    re-encoded, since a mail client's line wrapping leaves raw newlines inside the JSON strings."""
    body = message_from_bytes(raw, policy=compat32).get_payload(decode=True).decode()
    lenient = json.JSONDecoder(strict=False)
    found, _ = lenient.raw_decode(body.strip())
    return json.dumps(lenient.raw_decode(found["Message"].strip())[0] if "Message" in found else found)


def test_the_corpus_has_mailed_notifications_of_every_kind() -> None:
    kinds = {json.loads(notification_of(p.read_bytes()))["notificationType"] for p in MAILED}
    assert kinds == {"Bounce", "Complaint", "Delivery"}


@pytest.mark.parametrize("path", MAILED, ids=lambda p: p.name)
def test_a_mailed_corpus_notification_reads_as_its_webhook(keys: Keys, path: Any) -> None:
    raw = path.read_bytes()
    facts = read_message(raw)
    assert facts and facts == by_webhook(keys, notification_of(raw))


@pytest.mark.parametrize("name", NOTIFICATIONS)
def test_one_notification_gives_equal_facts_by_mail_and_by_webhook(keys: Keys, name: str) -> None:
    notification = json.dumps({**_COMMON, **NOTIFICATIONS[name]})
    facts = by_webhook(keys, notification)
    assert facts
    assert read_message(mailed(sns_mail_body(notification))) == facts
    assert read_message(mailed(notification)) == facts  # the bare SES JSON, as "raw message delivery" sends it


def test_the_shared_reader_applies_every_rule_on_both_paths(keys: Keys) -> None:
    def reasons(name: str) -> set[BounceReason | None]:
        notification = json.dumps({**_COMMON, **NOTIFICATIONS[name]})
        return {f.reason for f in read_message(mailed(sns_mail_body(notification)))}

    assert reasons("mail-from-refusal") == {BounceReason.REJECTED}  # the command rule, not "blocked"
    assert reasons("suppressed") == {BounceReason.SUPPRESSED}
    assert reasons("vague-reply-noemail") == {BounceReason.USERUNKNOWN}
    delay = read_message(mailed(sns_mail_body(json.dumps({**_COMMON, **NOTIFICATIONS["delivery-delay"]}))))
    assert [f.event for f in delay] == [EventKind.DEFERRED]
    complaint = read_message(mailed(sns_mail_body(json.dumps({**_COMMON, **NOTIFICATIONS["complaint"]}))))
    assert [(f.feedback_type, f.campaign_id, f.sender) for f in complaint] == [("abuse", "spring", "news@example.com")]


def test_a_mailed_bounce_naming_no_recipient_is_unparseable() -> None:
    broken = {**_COMMON, "notificationType": "Bounce", "bounce": {"bouncedRecipients": [{"emailAddress": 7}]}}
    with pytest.raises(UnparseableMessage):
        read_message(mailed(sns_mail_body(json.dumps(broken))))


def test_a_mailed_event_without_recipients_is_no_bounce() -> None:
    opened = {**_COMMON, "eventType": "Open", "open": {"timestamp": "2026-03-15T08:45:00.000Z"}}
    assert read_message(mailed(sns_mail_body(json.dumps(opened)))) == []
