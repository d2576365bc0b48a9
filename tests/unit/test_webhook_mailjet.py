"""Mailjet Event API posts: HTTP Basic credentials, then each event to a fact.

The events carry the fields of Mailjet's "Event Tracking API" (``event``, ``time``, ``email``,
``Message_GUID``, ``customcampaign``, ``hard_bounce``, ``error_related_to``, ``error``, ``comment``);
the replies inside them are real MTA wordings.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from tests.support.webhook_signers import MAILJET, NOW, Keys, basic, make_keys
from validator.bounces.facts import BounceReason, Category, EventKind
from validator.bounces.policy import categorize
from validator.bounces.webhooks import read_trusted, read_webhook
from validator.errors import InvalidSignature


@pytest.fixture(scope="module")
def keys() -> Keys:
    return make_keys()


def event(kind: str, **fields: Any) -> dict[str, Any]:
    base = {
        "event": kind,
        "time": 1773564131,
        "MessageID": 19421777396190490,
        "Message_GUID": "1ab23cd4-e567-8901-2345-6789f0gh1i2j",
        "email": "jane@example.com",
        "mj_campaign_id": 7173,
        "customcampaign": "spring",
    }
    return {**base, **fields}


HARD = event(
    "bounce",
    blocked=False,
    hard_bounce=True,
    error_related_to="recipient",
    error="user unknown",
    comment="550 5.1.1 <jane@example.com>: Recipient address rejected: User unknown in virtual mailbox table",
)


def test_an_authorised_event_is_read(keys: Keys) -> None:
    reading = read_webhook("mailjet", basic(MAILJET.user, MAILJET.password), orjson.dumps(HARD), keys.secrets(), NOW)
    (fact,) = reading.facts
    assert (fact.recipient, fact.reason, fact.status, fact.claimed_type) == (
        "jane@example.com",
        BounceReason.USERUNKNOWN,
        "5.1.1",
        "bounce/recipient/user unknown",
    )
    assert (fact.message_id, fact.campaign_id, fact.provider) == (
        "1ab23cd4-e567-8901-2345-6789f0gh1i2j",
        "spring",
        "mailjet",
    )
    assert fact.timestamp == datetime(2026, 3, 15, 8, 42, 11, tzinfo=UTC)
    assert categorize(fact) is Category.HARD_INVALID


@pytest.mark.parametrize("headers", [{}, basic(MAILJET.user, "wrong"), {"Authorization": "Bearer x"}])
def test_an_event_without_the_right_credentials_is_refused(keys: Keys, headers: dict[str, str]) -> None:
    with pytest.raises(InvalidSignature):
        read_webhook("mailjet", headers, orjson.dumps(HARD), keys.secrets(), NOW)


@pytest.mark.parametrize(
    ("payload", "reason", "category"),
    [
        pytest.param(  # no reply: Mailjet's error table decides
            event("bounce", hard_bounce=True, error_related_to="domain", error="invalid domain"),
            BounceReason.HOSTUNKNOWN, Category.HARD_INVALID, id="no-reply-error-decides",
        ),
        pytest.param(  # the reply decides over the error: a spam block is not a dead mailbox
            event("bounce", hard_bounce=True, error_related_to="recipient", error="user unknown",
                  comment="554 5.7.1 Service unavailable; Client host [192.0.2.25] blocked using zen.spamhaus.org"),
            BounceReason.BLOCKED, Category.SENDER_PROBLEM, id="reply-beats-error",
        ),
        pytest.param(
            event("bounce", hard_bounce=False, error_related_to="recipient", error="quota exceeded",
                  comment="452 4.2.2 The email account that you tried to reach is over quota."),
            BounceReason.MAILBOXFULL, Category.SOFT_MAILBOX, id="soft-mailbox-full",
        ),
        pytest.param(
            event("blocked", error_related_to="mailjet", error="preblocked"),
            BounceReason.SUPPRESSED, Category.IGNORE, id="blocked-never-sent",
        ),
        pytest.param(event("spam", source="JMRPP"), BounceReason.FEEDBACK, Category.COMPLAINT, id="complaint"),
        pytest.param(event("unsub", mj_list_id=1), None, Category.UNSUBSCRIBE, id="unsubscribe"),
        pytest.param(
            event("sent", smtp_reply="250 2.0.0 OK 1773564131 x12si34567 - gsmtp"),
            BounceReason.DELIVERED, Category.IGNORE, id="sent",
        ),
    ],
)  # fmt: skip
def test_each_event(payload: dict, reason: BounceReason | None, category: Category) -> None:
    (fact,) = read_trusted("mailjet", payload).facts
    assert (fact.reason, categorize(fact)) == (reason, category)


def test_grouped_events_are_read_and_opens_noted() -> None:
    reading = read_trusted("mailjet", [HARD, event("open", ip="192.0.2.1"), event("click", url="https://x.example")])
    assert [f.event for f in reading.facts] == [EventKind.BOUNCE]
    assert reading.notes == ("2 open/click event(s): nothing to learn about recipients",)
