"""Wire shapes of the suppression list: request parsing, entry JSON, CSV rows.

Pure functions of bytes, strings and values (no aiohttp). Addresses and domains are parsed
with the same syntax policy as validation, so a key the list holds is a key validation can
match; an unparseable one is refused with its field (API) or its line (import).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from validator.errors import InvalidField, MissingField, TooManyItems, UnknownField
from validator.model import AuditEntry, Suppression, SuppressionEntry, SuppressionKind, SuppressionReason
from validator.store.records import PAGE_MAX
from validator.suppressions.keys import MAX_DETAIL, parse_reason, parse_time, refuse_controls
from validator.wire.csv_records import to_spreadsheet
from validator.wire.validation import address_text, decode_json, iso_time, object_with, parse_limit, suppression_json

CSV_COLUMNS = ("kind", "value", "reason", "source", "detail", "created_at", "updated_at", "expires_at")
_PUT_FIELDS = frozenset({"reason", "source", "detail", "expires_at", "why"})


@dataclass(frozen=True, slots=True)
class PutRequest:
    entry: SuppressionEntry
    why: str | None


def _optional_text(data: dict[str, Any], name: str, limit: int, *, multiline: bool = False) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise InvalidField(f"must be a string of at most {limit} characters", field=name)
    return refuse_controls(value, name, multiline=multiline)


def parse_put(body: bytes, kind: SuppressionKind, value: str, default_source: str) -> PutRequest:
    data = object_with(decode_json(body), _PUT_FIELDS)
    if "reason" not in data:
        raise MissingField("field 'reason' is required", field="reason")
    expires = data.get("expires_at")
    entry = SuppressionEntry(
        kind=kind,
        value=value,
        reason=parse_reason(data["reason"]),
        source=_optional_text(data, "source", 200) or default_source,
        detail=_optional_text(data, "detail", MAX_DETAIL, multiline=True),
        expires_at=parse_time(expires, "expires_at") if expires is not None else None,
    )
    return PutRequest(entry, _optional_text(data, "why", 500))


def parse_lookup(body: bytes, max_items: int) -> list[str]:
    data = object_with(decode_json(body), frozenset({"emails"}))
    emails = data.get("emails")
    if emails is None:
        raise MissingField("field 'emails' is required", field="emails")
    if not isinstance(emails, list):
        raise InvalidField("must be an array of strings", field="emails")
    if len(emails) > max_items:
        raise TooManyItems(f"at most {max_items} addresses per lookup, got {len(emails)}", field="emails")
    return [address_text(e, f"emails[{i}]") for i, e in enumerate(emails)]


def lookup_body(answers: list[tuple[str, bool, Suppression | None]]) -> bytes:
    """The lookup answer for ``(email as sent, valid, matching entry)`` in request order.

    Each entry is handed to orjson as the dataclass it is (its fields are ``suppression_json``'s
    keys, in order; ``OPT_UTC_Z`` writes UTC as ``Z``): the same bytes as rendering it field by
    field, without a dict and two ``isoformat`` calls per suppressed address (tests/unit/test_lookup_wire.py).
    """
    results = [
        {
            "email": email,
            "valid": valid,
            "suppressed": entry is not None,
            "reason": entry.reason if entry is not None else None,
            "entry": entry,
        }
        for email, valid, entry in answers
    ]
    return orjson.dumps({"count": len(results), "results": results}, option=orjson.OPT_UTC_Z)


def audit_json(row: AuditEntry) -> dict[str, Any]:
    return {
        "action": row.action.value,
        "actor": row.actor,
        "at": iso_time(row.at),
        "why": row.why,
        "before": dict(row.before) if row.before is not None else None,
        "after": dict(row.after) if row.after is not None else None,
    }


def csv_header() -> str:
    return ",".join(CSV_COLUMNS) + "\r\n"


def csv_row(entry: Suppression) -> str:
    out = io.StringIO()
    row = suppression_json(entry)
    csv.writer(out).writerow(["" if row[c] is None else to_spreadsheet(row[c]) for c in CSV_COLUMNS])
    return out.getvalue()


@dataclass(frozen=True, slots=True)
class ImportQuery:
    reason: SuppressionReason
    source: str
    why: str | None


def parse_import_query(query: Mapping[str, str]) -> ImportQuery:
    """``?reason=hard_bounce&source=esp-export&why=...``: defaults for rows that omit them."""
    unknown = set(query) - {"reason", "source", "why"}
    if unknown:
        name = sorted(unknown)[0]
        raise UnknownField(f"unknown query parameter {name!r}", field=name)
    return ImportQuery(
        reason=parse_reason(query.get("reason", "manual")),
        source=query.get("source", "import")[:200],
        why=query.get("why"),
    )


@dataclass(frozen=True, slots=True)
class ListQuery:
    cursor: str | None
    limit: int
    format: str
    filters: dict[str, Any]


def parse_list_query(query: Mapping[str, str]) -> ListQuery:
    """``?cursor=&limit=&reason=&source=&since=&kind=&format=json|csv``."""
    unknown = set(query) - {"cursor", "limit", "reason", "source", "since", "kind", "format"}
    if unknown:
        name = sorted(unknown)[0]
        raise UnknownField(f"unknown query parameter {name!r}", field=name)
    limit = parse_limit(query, PAGE_MAX)
    fmt = query.get("format", "json")
    if fmt not in ("json", "csv"):
        raise InvalidField("must be json or csv", field="format")
    filters: dict[str, Any] = {}
    if "reason" in query:
        filters["reason"] = parse_reason(query["reason"])
    if "source" in query:
        filters["source"] = query["source"]
    if "since" in query:
        filters["since"] = parse_time(query["since"], "since")
    if "kind" in query:
        try:
            filters["kind"] = SuppressionKind(query["kind"])
        except ValueError as exc:
            raise InvalidField("must be address or domain", field="kind") from exc
    return ListQuery(query.get("cursor") or None, limit, fmt, filters)
