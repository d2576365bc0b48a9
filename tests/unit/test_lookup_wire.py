"""The bulk lookup's wire shapes: its answer renders each entry exactly as ``suppression_json`` does."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from validator.model import Address, Suppression, SuppressionKind, SuppressionReason
from validator.suppressions.keys import address_key, domain_key, lookup_keys
from validator.syntax import parse_address
from validator.wire.suppressions import lookup_body
from validator.wire.validation import suppression_json

_AT = datetime(2026, 3, 15, 8, 42, 11, tzinfo=UTC)


def _entry(created: datetime, expires: datetime | None, detail: str | None) -> Suppression:
    return Suppression(
        SuppressionKind.ADDRESS,
        "jane@example.com",
        SuppressionReason.HARD_BOUNCE,
        "api",
        detail,
        created,
        created,
        expires,
    )


@pytest.mark.parametrize(
    "entry",
    [
        _entry(_AT, None, None),
        _entry(_AT + timedelta(microseconds=5), _AT + timedelta(days=1, microseconds=123456), "550 5.1.1 <jane>:\r\n"),
        _entry(datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), 'é \u2028 "q"'),
        _entry(_AT.replace(tzinfo=UTC), None, ""),  # asyncpg's UTC is timezone.utc
    ],
    ids=["whole-seconds", "microseconds-and-line-breaks", "extreme-years", "asyncpg-utc"],
)
def test_lookup_entries_render_as_suppression_json(entry: Suppression) -> None:
    answer = orjson.loads(lookup_body([("Jane@Example.com", True, entry)]))
    assert answer == {
        "count": 1,
        "results": [
            {
                "email": "Jane@Example.com",
                "valid": True,
                "suppressed": True,
                "reason": "hard_bounce",
                "entry": suppression_json(entry),
            }
        ],
    }
    # the bytes too: the entry's keys come in suppression_json's order
    assert orjson.dumps(answer["results"][0]["entry"]) == orjson.dumps(suppression_json(entry))


def test_suppression_fields_are_the_wire_keys() -> None:
    # lookup_body hands the dataclass to orjson: a field added to Suppression would change the API
    entry = _entry(_AT, None, None)
    assert [f.name for f in fields(Suppression)] == list(suppression_json(entry))


def test_unsuppressed_and_invalid_answers() -> None:
    answer = orjson.loads(lookup_body([("a@example.com", True, None), ("not an address", False, None)]))
    assert answer["results"] == [
        {"email": "a@example.com", "valid": True, "suppressed": False, "reason": None, "entry": None},
        {"email": "not an address", "valid": False, "suppressed": False, "reason": None, "entry": None},
    ]


@pytest.mark.parametrize(
    "text",
    [
        "Jane.Doe@Example.COM",  # keys fold case on both sides
        " jane@example.com\r\n",  # paste noise trimmed
        "jörg@bücher.de",  # SMTPUTF8 local part, IDNA domain: the slow path
        "JANE@XN--BCHER-KVA.DE",  # an A-label given directly
        "ops@mail.localhost",  # a reserved name, which lookups accept
        "not an address",
        "a@com",  # dotless
        "a@1.2.3.4",  # numeric TLD
    ],
)
def test_lookup_keys_are_the_keys_of_the_parsed_address(text: str) -> None:
    parsed = parse_address(text, allow_reserved=True)
    expected = (address_key(parsed), domain_key(parsed)) if isinstance(parsed, Address) else None
    assert lookup_keys(text) == expected
