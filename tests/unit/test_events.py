"""read_events: our JSON delivery events (object, array, NDJSON) into facts, strictly."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from validator.bounces.events import read_events
from validator.bounces.facts import BounceReason, Category, DsnAction, EventKind, StatusSource
from validator.bounces.policy import categorize
from validator.errors import (
    InvalidEncoding,
    InvalidField,
    InvalidJson,
    MissingField,
    TooManyItems,
    UnknownField,
    UnsupportedMediaType,
)

# a hard bounce event as a sender's platform posts it
BOUNCE = {
    "event": "bounce",
    "type": "hard",
    "email": "user@example.com",
    "smtp_code": 550,
    "smtp_enhanced_code": "5.1.1",
    "smtp_message": "The email account that you tried to reach does not exist",
    "timestamp": "2026-03-15T08:42:11Z",
    "provider": "gmail",
}
JSON = "application/json"


def _one(**changes: object) -> bytes:
    return orjson.dumps({k: v for k, v in {**BOUNCE, **changes}.items() if v is not ...})


def test_issue_example_is_a_hard_bounce_from_its_reply() -> None:
    (fact,) = read_events(
        _one(id="evt-1", message_id="<m1@example.org>", campaign_id="spring", sender="news@example.org"), JSON
    )
    assert (fact.recipient, fact.event, fact.reason, fact.action) == (
        "user@example.com",
        EventKind.BOUNCE,
        BounceReason.USERUNKNOWN,
        DsnAction.FAILED,
    )
    assert (fact.status, fact.status_source, fact.reply_code, fact.claimed_type) == (
        "5.1.1",
        StatusSource.ESP,
        550,
        "hard",
    )
    assert (fact.event_id, fact.message_id, fact.campaign_id, fact.sender, fact.provider) == (
        "evt-1",
        "<m1@example.org>",
        "spring",
        "news@example.org",
        "gmail",
    )
    assert fact.timestamp == datetime(2026, 3, 15, 8, 42, 11, tzinfo=UTC)
    assert categorize(fact) is Category.HARD_INVALID


def test_claimed_hard_with_a_blocklist_reply_is_a_sender_problem() -> None:
    # the sender says "hard", the reply says Spamhaus: the reply decides
    body = _one(
        smtp_code=550,
        smtp_enhanced_code="5.7.1",
        smtp_message="Client host [192.0.2.1] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/192.0.2.1",
    )
    (fact,) = read_events(body, JSON)
    assert fact.claimed_type == "hard" and categorize(fact) is Category.SENDER_PROBLEM


def test_enhanced_code_quoted_in_the_message_is_the_remotes() -> None:
    (fact,) = read_events(_one(smtp_enhanced_code=..., smtp_message="552 5.2.2 Mailbox full"), JSON)
    assert (fact.status, fact.status_source, categorize(fact)) == ("5.2.2", StatusSource.REMOTE, Category.SOFT_MAILBOX)


@pytest.mark.parametrize("claimed", ["hard", "soft"])
def test_bounce_with_no_code_and_no_text_is_undefined_whatever_its_type(claimed: str) -> None:
    # documented choice: a bare label counts toward the chronic streak, it never suppresses at once
    (fact,) = read_events(_one(type=claimed, smtp_code=..., smtp_enhanced_code=..., smtp_message=...), JSON)
    assert (fact.reason, fact.claimed_type, fact.status) == (BounceReason.UNDEFINED, claimed, None)
    assert categorize(fact) is Category.SOFT_TRANSIENT


def test_multiline_reply_is_accepted_in_smtp_message() -> None:
    # Gmail answers in several lines; the platform may pass them on as they came
    message = (
        "550-5.1.1 The email account that you tried to reach does not exist.\r\n550 5.1.1 Please try double-checking"
    )
    (fact,) = read_events(_one(smtp_message=message), JSON)
    assert fact.reason is BounceReason.USERUNKNOWN


@pytest.mark.parametrize(
    ("event", "kind", "category"),
    [
        ("sent", EventKind.SENT, Category.IGNORE),
        ("delivered", EventKind.DELIVERED, Category.IGNORE),
        ("deferred", EventKind.DEFERRED, Category.IGNORE),
        ("complaint", EventKind.COMPLAINT, Category.COMPLAINT),
        ("unsubscribe", EventKind.UNSUBSCRIBE, Category.UNSUBSCRIBE),
    ],
)
def test_other_events(event: str, kind: EventKind, category: Category) -> None:
    (fact,) = read_events(_one(event=event, type=...), JSON)
    assert (fact.event, categorize(fact)) == (kind, category)


def test_complaint_keeps_its_feedback_type() -> None:
    (fact,) = read_events(_one(event="complaint", type=..., feedback_type="not-spam"), JSON)
    assert (fact.feedback_type, categorize(fact)) == ("not-spam", Category.IGNORE)


def test_array_and_ndjson_give_the_same_facts() -> None:
    events = [orjson.loads(_one()), orjson.loads(_one(event="delivered", email="b@example.com"))]
    from_array = read_events(orjson.dumps(events), "application/json; charset=utf-8")
    ndjson = b"\n".join(orjson.dumps(e) for e in events) + b"\n\n"
    assert read_events(ndjson, "application/x-ndjson") == from_array
    assert [f.recipient for f in from_array] == ["user@example.com", "b@example.com"]


def test_empty_array_is_no_events() -> None:
    assert read_events(b"[]", JSON) == []


@pytest.mark.parametrize(
    ("body", "error", "field"),
    [
        (_one(smtp_cod=550), UnknownField, "smtp_cod"),
        (_one(email=...), MissingField, "email"),
        (_one(event=...), MissingField, "event"),
        (_one(timestamp=...), MissingField, "timestamp"),
        (_one(event="bounced"), InvalidField, "event"),
        (_one(type="permanent"), InvalidField, "type"),
        (_one(email=["user@example.com"]), InvalidField, "email"),
        (_one(email="user@example.com\r\nBcc: x@example.org"), InvalidField, "email"),
        (_one(sender="a\x00b"), InvalidField, "sender"),
        (_one(smtp_message="550 x\x00"), InvalidField, "smtp_message"),
        (_one(smtp_code=600), InvalidField, "smtp_code"),
        (_one(smtp_code=199), InvalidField, "smtp_code"),
        (_one(smtp_code="550"), InvalidField, "smtp_code"),
        (_one(smtp_code=True), InvalidField, "smtp_code"),
        (_one(smtp_enhanced_code="5.1"), InvalidField, "smtp_enhanced_code"),
        (_one(smtp_enhanced_code="550"), InvalidField, "smtp_enhanced_code"),
        (_one(smtp_enhanced_code="3.1.1"), InvalidField, "smtp_enhanced_code"),
        (_one(timestamp="2026-03-15T08:42:11"), InvalidField, "timestamp"),  # no zone: ambiguous
        (_one(timestamp="2026-03-15"), InvalidField, "timestamp"),
        (_one(timestamp="2026-02-30T08:42:11Z"), InvalidField, "timestamp"),
        (_one(timestamp=1773564131), InvalidField, "timestamp"),
        (_one(feedback_type="abuse; drop table"), InvalidField, "feedback_type"),
        (_one(id="x" * 1025), InvalidField, "id"),
    ],
    ids=lambda v: v.__name__ if isinstance(v, type) else None,
)
def test_bad_single_event_is_refused_naming_the_field(body: bytes, error: type, field: str) -> None:
    with pytest.raises(error) as caught:
        read_events(body, JSON)
    assert caught.value.field == field


def test_bad_event_in_an_array_is_named_by_index() -> None:
    body = orjson.dumps(
        [orjson.loads(_one()), orjson.loads(_one()), orjson.loads(_one()), orjson.loads(_one(smtp_code=99))]
    )
    with pytest.raises(InvalidField) as caught:
        read_events(body, JSON)
    assert caught.value.field == "events[3].smtp_code" and caught.value.message.startswith("events[3]: ")


def test_bad_ndjson_line_is_named_by_line_number() -> None:
    body = _one() + b"\n\n" + _one() + b"\n" + _one(smtp_enhanced_code="5.1.1.1")
    with pytest.raises(InvalidField) as caught:
        read_events(body, "application/x-ndjson")
    assert caught.value.field == "line 4.smtp_enhanced_code" and caught.value.message.startswith("line 4: ")


def test_ndjson_line_that_is_not_json_is_named() -> None:
    with pytest.raises(InvalidJson) as caught:
        read_events(_one() + b"\n{not json", "application/x-ndjson")
    assert caught.value.field == "line 2"


@pytest.mark.parametrize("body", [b"", b"{", b"42", b'"bounce"', b"[1]", b"null"])
def test_not_an_event_is_invalid_json(body: bytes) -> None:
    with pytest.raises(InvalidJson):
        read_events(body, JSON)


def test_body_not_utf8_is_invalid_encoding() -> None:
    with pytest.raises(InvalidEncoding):
        read_events(b'{"email": "\xff"}', JSON)


def test_form_post_is_read_as_json() -> None:
    # `curl -d` sends the form type: a JSON body is read, form data is refused as not JSON
    assert len(read_events(_one(), "application/x-www-form-urlencoded")) == 1
    with pytest.raises(InvalidJson):
        read_events(b"event=bounce", "application/x-www-form-urlencoded")


def test_other_media_type_is_unsupported() -> None:
    with pytest.raises(UnsupportedMediaType):
        read_events(_one(), "text/csv")


@pytest.mark.parametrize(("content_type", "separator"), [(JSON, None), ("application/x-ndjson", b"\n")])
def test_more_events_than_allowed_is_too_many_items(content_type: str, separator: bytes | None) -> None:
    events = [orjson.loads(_one()) for _ in range(4)]
    body = orjson.dumps(events) if separator is None else separator.join(orjson.dumps(e) for e in events)
    assert len(read_events(body, content_type, max_events=4)) == 4
    with pytest.raises(TooManyItems):
        read_events(body, content_type, max_events=3)
