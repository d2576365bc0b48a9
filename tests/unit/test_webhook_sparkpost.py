"""SparkPost webhook batches: HTTP Basic credentials, then each event to a fact.

The events follow the fields of SparkPost's Webhooks API reference (``msys.<class>_event``,
``rcpt_to``, ``bounce_class``, ``error_code``, ``raw_reason``, ``timestamp`` as text); the replies
inside them are real MTA wordings (Postfix, Gmail, Spamhaus-listed refusals).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support.webhook_signers import NOW, SPARKPOST, Keys, basic, make_keys
from validator.bounces.facts import BounceReason, Category, EventKind
from validator.bounces.policy import categorize
from validator.bounces.webhooks import read_trusted, read_webhook
from validator.errors import InvalidSignature, TooManyItems

AUTHORISED = basic(SPARKPOST.user, SPARKPOST.password)


@pytest.fixture(scope="module")
def keys() -> Keys:
    return make_keys()


def event(kind: str, type_: str, **fields: Any) -> dict[str, Any]:
    base = {
        "type": type_,
        "rcpt_to": "jane@example.com",
        "raw_rcpt_to": "Jane@Example.com",
        "event_id": "92356927693813856",
        "message_id": "000443ee14578172be22",
        "campaign_id": "spring",
        "timestamp": "1773564131",
        "msg_from": "news@sender.example",
    }
    return {"msys": {kind: {**base, **fields}}}


UNKNOWN_USER = event(
    "message_event",
    "bounce",
    bounce_class="10",
    error_code="550",
    raw_reason="550 5.1.1 <jane@example.com>: Recipient address rejected: User unknown in virtual mailbox table",
)


def test_an_authorised_batch_is_read(keys: Keys) -> None:
    headers = {**AUTHORISED, "X-MessageSystems-Batch-ID": "77c4b4e0-2c8b-11e6-9d50-8d43e3c5a1c0"}
    reading = read_webhook("sparkpost", headers, orjson.dumps([UNKNOWN_USER]), keys.secrets(), NOW)
    (fact,) = reading.facts
    assert (fact.recipient, fact.reason, fact.status, fact.reply_code, fact.claimed_type) == (
        "jane@example.com",
        BounceReason.USERUNKNOWN,
        "5.1.1",
        550,
        "bounce/10",
    )
    assert (fact.event_id, fact.message_id, fact.campaign_id, fact.provider) == (
        "92356927693813856",
        "000443ee14578172be22",
        "spring",
        "sparkpost",
    )
    assert fact.timestamp == datetime(2026, 3, 15, 8, 42, 11, tzinfo=UTC)
    assert categorize(fact) is Category.HARD_INVALID
    assert reading.delivery_id == "77c4b4e0-2c8b-11e6-9d50-8d43e3c5a1c0"  # a retried batch keeps it


@pytest.mark.parametrize(
    "headers",
    [{}, basic(SPARKPOST.user, "wrong"), basic("postmark", SPARKPOST.password), {"Authorization": "Bearer x"}],
    ids=["missing", "wrong-password", "wrong-user", "bearer"],
)
def test_a_batch_without_the_right_credentials_is_refused(keys: Keys, headers: dict[str, str]) -> None:
    with pytest.raises(InvalidSignature):
        read_webhook("sparkpost", headers, orjson.dumps([UNKNOWN_USER]), keys.secrets(), NOW)


def test_the_test_batch_sparkpost_posts_when_a_webhook_is_created_reads_as_nothing(keys: Keys) -> None:
    reading = read_webhook("sparkpost", AUTHORISED, b'[{"msys":{}}]', keys.secrets(), NOW)
    assert reading.facts == () and len(reading.notes) == 1


@pytest.mark.parametrize(
    ("payload", "kind", "reason", "category"),
    [
        pytest.param(
            event("message_event", "out_of_band", bounce_class="10", raw_reason="550 5.1.1 The email account "
                  "that you tried to reach does not exist. Please try double-checking the recipient's email address"),
            EventKind.BOUNCE, BounceReason.USERUNKNOWN, Category.HARD_INVALID, id="out-of-band-unknown",
        ),
        pytest.param(  # the reply says too little: the class decides
            event("message_event", "bounce", bounce_class="10", error_code="554",
                  raw_reason="554 5.0.0 Delivery failed"),
            EventKind.BOUNCE, BounceReason.USERUNKNOWN, Category.HARD_INVALID, id="vague-reply-class-10",
        ),
        pytest.param(  # the reply decides over the class: a spam verdict is not a dead mailbox
            event("message_event", "bounce", bounce_class="10",
                  raw_reason="550 5.7.1 Message rejected as spam by Content Filtering."),
            EventKind.BOUNCE, BounceReason.SPAMDETECTED, Category.SENDER_PROBLEM, id="reply-beats-class",
        ),
        pytest.param(
            event("message_event", "bounce", bounce_class="51", raw_reason="554 5.7.1 Service unavailable; "
                  "Client host [192.0.2.25] blocked using zen.spamhaus.org"),
            EventKind.BOUNCE, BounceReason.BLOCKED, Category.SENDER_PROBLEM, id="spamhaus-block",
        ),
        pytest.param(
            event("message_event", "delay", bounce_class="22", raw_reason="452 4.2.2 The email account that you "
                  "tried to reach is over quota."),
            EventKind.DEFERRED, BounceReason.MAILBOXFULL, Category.IGNORE, id="delay",
        ),
        pytest.param(
            event("message_event", "policy_rejection", bounce_class="25", error_code="554",
                  reason="550 5.7.1 Recipient address was suppressed due to customer policy"),
            EventKind.BOUNCE, BounceReason.SUPPRESSED, Category.IGNORE, id="policy-rejection-not-sent",
        ),
        pytest.param(
            event("message_event", "bounce", bounce_class="60", raw_reason="I am out of the office until Monday"),
            EventKind.AUTO_REPLY, BounceReason.VACATION, Category.IGNORE, id="auto-reply-class",
        ),
        pytest.param(
            event("message_event", "spam_complaint", fbtype="abuse", report_by="fbl.example.net"),
            EventKind.COMPLAINT, BounceReason.FEEDBACK, Category.COMPLAINT, id="complaint",
        ),
        pytest.param(
            event("unsubscribe_event", "list_unsubscribe"),
            EventKind.UNSUBSCRIBE, None, Category.UNSUBSCRIBE, id="list-unsubscribe",
        ),
        pytest.param(
            event("message_event", "delivery"),
            EventKind.DELIVERED, BounceReason.DELIVERED, Category.IGNORE, id="delivery",
        ),
    ],
)  # fmt: skip
def test_each_event(payload: dict, kind: EventKind, reason: BounceReason | None, category: Category) -> None:
    (fact,) = read_trusted("sparkpost", [payload]).facts
    assert (fact.event, fact.reason, categorize(fact)) == (kind, reason, category)


def test_tracking_and_generation_events_are_noted_not_read() -> None:
    batch = [event("track_event", "open"), event("track_event", "click"), event("gen_event", "generation_failure")]
    reading = read_trusted("sparkpost", [*batch, UNKNOWN_USER])
    assert len(reading.facts) == 1
    assert reading.notes == (  # counted by type, in order
        "1 click event(s): nothing to learn about recipients",
        "1 generation_failure event(s): nothing to learn about recipients",
        "1 open event(s): nothing to learn about recipients",
    )


def test_a_page_of_the_events_api_reads_like_a_batch() -> None:
    # GET /api/v1/events/message answers {"results": [...]} with the events unwrapped: an exported history
    page = {"results": [UNKNOWN_USER["msys"]["message_event"], {"type": "open"}], "total_count": 2, "links": {}}
    reading = read_trusted("sparkpost", page)
    assert [(f.recipient, f.reason) for f in reading.facts] == [("jane@example.com", BounceReason.USERUNKNOWN)]
    assert reading.notes == ("1 open event(s): nothing to learn about recipients",)


@pytest.mark.parametrize("wrap", [lambda events: events, lambda events: {"results": events}], ids=["batch", "page"])
def test_a_batch_or_page_over_the_limit_is_refused(keys: Keys, wrap) -> None:
    body = orjson.dumps(wrap([UNKNOWN_USER] * 3))
    with pytest.raises(TooManyItems):
        read_webhook("sparkpost", AUTHORISED, body, keys.secrets(), NOW, max_events=2)


_NAMES = st.sampled_from(["msys", "message_event", "type", "rcpt_to", "bounce", "bounce_class", "raw_reason"])
_JSON = st.recursive(
    st.none() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_NAMES, inner, max_size=4),
    max_leaves=12,
)


@given(_JSON)
def test_any_shape_reads_without_an_exception(payload: object) -> None:
    reading = read_trusted("sparkpost", payload)
    assert all(fact.provider == "sparkpost" and "\n" not in fact.recipient for fact in reading.facts)
