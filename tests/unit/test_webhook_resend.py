"""Resend webhooks: Svix signatures, then each event to facts.

The events carry the fields of Resend's webhook reference (``type``, ``created_at``, ``data.email_id``,
``data.to``, ``data.tags``, ``data.bounce{type, subType, message, diagnosticCode}``); the replies
inside them are real MTA wordings.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from tests.support.webhook_signers import NOW, RESEND_KEY, Keys, make_keys, svix_headers
from validator.bounces.facts import BounceReason, Category, EventKind
from validator.bounces.policy import categorize
from validator.bounces.webhooks import read_trusted, read_webhook
from validator.errors import InvalidSignature


@pytest.fixture(scope="module")
def keys() -> Keys:
    return make_keys()


def event(kind: str, **data: Any) -> dict[str, Any]:
    base = {
        "email_id": "56761188-7520-42d8-8898-ff6fc54ce618",
        "from": "Acme <news@acme.example>",
        "to": ["jane@example.com"],
        "subject": "Welcome",
        "tags": {"campaign_id": "spring"},
    }
    return {"type": kind, "created_at": "2026-03-15T08:42:11.126Z", "data": {**base, **data}}


HARD = event(
    "email.bounced",
    bounce={
        "type": "Permanent",
        "subType": "General",
        "message": "The recipient's email provider sent a hard bounce message.",
        "diagnosticCode": ["smtp; 550 5.1.1 The email account that you tried to reach does not exist."],
    },
)


def test_a_signed_event_is_read(keys: Keys) -> None:
    body = orjson.dumps(HARD)
    reading = read_webhook("resend", svix_headers(body), body, keys.secrets(), NOW)
    (fact,) = reading.facts
    assert (fact.recipient, fact.reason, fact.status, fact.claimed_type) == (
        "jane@example.com",
        BounceReason.USERUNKNOWN,
        "5.1.1",
        "Permanent/General",
    )
    assert (fact.message_id, fact.campaign_id, fact.sender) == (
        "56761188-7520-42d8-8898-ff6fc54ce618",
        "spring",
        "news@acme.example",
    )
    assert fact.timestamp == datetime(2026, 3, 15, 8, 42, 11, 126000, tzinfo=UTC)
    assert categorize(fact) is Category.HARD_INVALID
    assert reading.delivery_id == "msg_2Kx9"  # the svix-id, the same on every retry


def test_a_rotated_secret_lists_several_signatures_and_one_matching_is_enough(keys: Keys) -> None:
    body = orjson.dumps(HARD)
    headers = svix_headers(body)
    headers["svix-signature"] = "v1,bm90IHRoaXMgb25l " + headers["svix-signature"]
    assert read_webhook("resend", headers, body, keys.secrets(), NOW).facts


@pytest.mark.parametrize(
    "change",
    [
        lambda h, b: ({**h, "svix-signature": "v1,AAAA"}, b),
        lambda h, b: (h, b.replace(b"jane", b"joan")),  # the body was altered after signing
        lambda h, b: ({**h, "svix-id": "msg_other"}, b),  # the id is signed too
        lambda h, b: ({k: v for k, v in h.items() if k != "svix-timestamp"}, b),
        lambda h, b: (svix_headers(b, key=b"another-key-entirely-0123456789"), b),
        lambda h, b: (svix_headers(b, at=NOW - timedelta(days=1)), b),  # stale: a replay
        lambda h, b: ({**h, "svix-signature": "v1,\udcff"}, b),  # not UTF-8 on the wire
    ],
    ids=["wrong-signature", "altered-body", "other-id", "no-timestamp", "other-key", "stale", "not-utf8"],
)
def test_a_request_that_does_not_verify_is_refused(keys: Keys, change) -> None:
    body = orjson.dumps(HARD)
    headers, sent = change(svix_headers(body), body)
    with pytest.raises(InvalidSignature):
        read_webhook("resend", headers, sent, keys.secrets(), NOW)


@pytest.mark.parametrize(
    ("payload", "kind", "reason", "category"),
    [
        pytest.param(
            event("email.bounced", bounce={"type": "Permanent", "subType": "Suppressed",
                                           "message": "Resend has suppressed sending to this address"}),
            EventKind.BOUNCE, BounceReason.SUPPRESSED, Category.IGNORE, id="suppressed-never-sent",
        ),
        pytest.param(  # no reply: SES's subtype decides
            event("email.bounced", bounce={"type": "Transient", "subType": "MailboxFull"}),
            EventKind.BOUNCE, BounceReason.MAILBOXFULL, Category.SOFT_MAILBOX, id="subtype-decides",
        ),
        pytest.param(  # a single diagnosticCode string
            event("email.bounced", bounce={"type": "Permanent", "subType": "General", "diagnosticCode": "smtp; 554 "
                  "5.7.1 Service unavailable; Client host [192.0.2.25] blocked using zen.spamhaus.org"}),
            EventKind.BOUNCE, BounceReason.BLOCKED, Category.SENDER_PROBLEM, id="reply-string",
        ),
        pytest.param(
            event("email.delivery_delayed"), EventKind.DEFERRED, None, Category.IGNORE, id="delayed",
        ),
        pytest.param(
            event("email.delivered"), EventKind.DELIVERED, BounceReason.DELIVERED, Category.IGNORE, id="delivered",
        ),
        pytest.param(
            event("email.complained"), EventKind.COMPLAINT, BounceReason.FEEDBACK, Category.COMPLAINT, id="complaint",
        ),
    ],
)  # fmt: skip
def test_each_event(payload: dict, kind: EventKind, reason: BounceReason | None, category: Category) -> None:
    (fact,) = read_trusted("resend", payload).facts
    assert (fact.event, fact.reason, categorize(fact)) == (kind, reason, category)


def test_every_recipient_gets_the_fact_and_tags_may_be_a_list() -> None:
    payload = event("email.delivered", to=["a@example.com", "B <b@example.com>", "not an address"])
    payload["data"]["tags"] = [{"name": "campaign_id", "value": "autumn"}]
    facts = read_trusted("resend", payload).facts
    assert [(f.recipient, f.campaign_id) for f in facts] == [("a@example.com", "autumn"), ("b@example.com", "autumn")]


def test_opens_clicks_and_other_events_are_noted() -> None:
    for kind in ("email.opened", "email.clicked", "email.failed", "domain.updated"):
        reading = read_trusted("resend", event(kind))
        assert reading.facts == () and len(reading.notes) == 1


def test_the_signing_key_used_by_the_tests_is_the_secrets() -> None:
    assert make_keys().secrets().resend_signing_key == RESEND_KEY
