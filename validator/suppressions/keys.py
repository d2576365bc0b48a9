"""How parsed addresses map to suppression-list keys. Pure: no store, no I/O.

The policy (documented in docs/suppressions.md): the domain compares case-insensitively in its ASCII
(IDNA) form; the local part compares case-insensitively too. RFC 5321 §2.4 lets a server treat
local parts as case-sensitive, but no large mailbox provider does, and for a suppression list
the safe error is to suppress too much, never to mail a known hard bounce because of a capital
letter. Gmail dots and ``+tags`` are never folded: ``j.doe@`` and ``jdoe@`` are distinct
entries (folding is a provider-specific guess that would suppress other people's addresses).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from validator.errors import InvalidField
from validator.model import Address, Suppression, SuppressionEntry, SuppressionKind, SuppressionReason
from validator.syntax import parse_address, parse_key_parts
from validator.wire.csv_records import Record, RecordReader, cells_of, delimiter_of, from_spreadsheet

MAX_DETAIL = 2000  # characters of `detail` (an SMTP reply, a note): enough for a multi-line reply


def address_key(address: Address) -> str:
    return f"{address.local_part.lower()}@{address.ascii_domain.lower()}"


def domain_key(address: Address) -> str:
    return address.ascii_domain.lower()


def matching_entry(address: Address, found: dict[str, Suppression]) -> Suppression | None:
    """The entry that suppresses ``address`` among ``found``: its own entry wins over its domain's."""
    return entry_for_keys((address_key(address), domain_key(address)), found)


def entry_for_keys(keys: tuple[str, str], found: dict[str, Suppression]) -> Suppression | None:
    """``matching_entry`` for an address's ``(address key, domain key)``."""
    return found.get(keys[0]) or found.get(keys[1])


def lookup_keys(text: str) -> tuple[str, str] | None:
    """``(address_key, domain_key)`` of an address as a lookup sends it (reserved names allowed),
    or None when it is not one: the keys ``parse_address`` would give, without its ``Address``."""
    parts = parse_key_parts(text, allow_reserved=True)
    if not isinstance(parts, tuple):
        return None
    domain = parts[1].lower()
    return f"{parts[0].lower()}@{domain}", domain


def refuse_line_breaks(text: str, field: str) -> str:
    """``text`` unchanged, or ``InvalidField`` when it holds CR, LF or NUL (API fields and CSV keys alike)."""
    if "\r" in text or "\n" in text or "\x00" in text:  # header injection into SMTP or logs; never a typo
        raise InvalidField("must not contain CR, LF or NUL", field=field)
    return text


# Unicode control characters (category Cc): C0, DEL and C1. PostgreSQL cannot store NUL in
# text at all (CharacterNotInRepertoireError) and SQLite stores it, so both refuse all of them
# alike; a multi-line field (an SMTP reply in `detail`) keeps TAB, LF and CR.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")
_CONTROLS_BUT_LINES = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def refuse_controls(text: str, field: str, *, multiline: bool = False) -> str:
    """``text`` unchanged, or ``InvalidField`` naming the first control character it holds."""
    found = (_CONTROLS_BUT_LINES if multiline else _CONTROLS).search(text)
    if found is not None:
        raise InvalidField(f"must not contain control characters (U+{ord(found.group()):04X})", field=field)
    return text


def parse_email_key(text: str, field: str = "email") -> str:
    """An address from a path or a row → its suppression key, or ``InvalidField``."""
    parsed = parse_address(refuse_line_breaks(text, field), allow_reserved=True)
    if not isinstance(parsed, Address):
        raise InvalidField(f"not a valid address: {parsed.message}", field=field)
    return address_key(parsed)


def parse_domain_key(text: str, field: str = "domain") -> str:
    """A domain → its key (IDNA, lower case), checked by parsing ``x@domain``."""
    parsed = parse_address("x@" + refuse_line_breaks(text, field), allow_reserved=True)
    if "@" in text or not isinstance(parsed, Address):
        raise InvalidField("not a valid domain", field=field)
    return parsed.ascii_domain.lower()


def parse_time(value: Any, field: str) -> datetime:
    """ISO 8601 with a zone (``2026-03-15T08:42:11Z``); a naive time would be ambiguous."""
    if not isinstance(value, str):
        raise InvalidField("must be an ISO 8601 date-time string", field=field)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise InvalidField("must be an ISO 8601 date-time", field=field) from exc
    if moment.tzinfo is None:
        raise InvalidField("must carry a time zone (e.g. Z)", field=field)
    try:
        return moment.astimezone(UTC)
    except OverflowError as exc:  # 0001-01-01T00:00:00+14:00 is before year 1 in UTC
        raise InvalidField("must fall between years 1 and 9999 in UTC", field=field) from exc


def parse_reason(value: Any, field: str = "reason") -> SuppressionReason:
    try:
        return SuppressionReason(value)
    except ValueError as exc:
        allowed = ", ".join(r.value for r in SuppressionReason)
        raise InvalidField(f"must be one of {allowed}", field=field) from exc


@dataclass(frozen=True, slots=True)
class ImportRow:
    line: int
    entry: SuppressionEntry | None
    error: str | None


class ImportParser:
    """Rows of an import CSV, fed bytes as they come (the body is never held whole).

    Columns by header (``email``, or ``domain``, or ``kind`` + ``value``; then ``reason``,
    ``source``, ``detail``, ``expires_at``) in the first record that is not blank, a byte order mark
    before it ignored; without a header, one address per line. Cells are split on commas, or on the
    ";" or TAB of a first record that holds none (``csv_records.delimiter_of``). A record
    ends at a line end outside quotes (RFC 4180 §2.6), so quoted line breaks survive chunking.
    Every record that is not imported comes back as a row with its line and the reason: not
    UTF-8, NUL, too long, a quote that never closes (naming the lines it took), or a cell the
    entry refuses.
    """

    def __init__(self, default_reason: SuppressionReason, default_source: str) -> None:
        self._reason = default_reason
        self._source = default_source
        self._columns: dict[str, int] | None = None
        self._first = True  # no non-blank record read yet: the one that may be the header
        self._delimiter: str | None = None  # "," or the ";" or TAB of a first record without commas
        self._records = RecordReader()

    def feed(self, data: bytes) -> list[ImportRow]:
        return [row for record in self._records.feed(data) if (row := self._take(record)) is not None]

    def finish(self) -> list[ImportRow]:
        return [row for record in self._records.finish() if (row := self._take(record)) is not None]

    def _take(self, record: Record) -> ImportRow | None:
        start = record.start
        if record.problem is not None:  # this record is refused; the rest of the file goes on
            return ImportRow(start, None, record.problem)
        if "\x00" in record.text:
            return ImportRow(start, None, "the line contains NUL")
        # a UTF-8 byte order mark opens the file ("CSV UTF-8" of Excel and LibreOffice): not a character of
        # the header, which must still name the columns (else every row silently took the defaults)
        text = record.text.removeprefix("\ufeff") if start == 1 else record.text
        delimiter = self._delimiter or delimiter_of(text)
        cells = cells_of(text, delimiter)
        if not any(cell.strip() for cell in cells):
            return None
        self._delimiter = delimiter
        if self._first:  # the header is the first record that is not blank, on line 1 or after blank lines
            self._first = False
            names = [cell.strip().lower() for cell in cells]
            if {"email", "value", "domain"} & set(names):
                self._columns = {name: i for i, name in enumerate(names)}
                return None
        try:
            return ImportRow(start, _entry_of(cells, self._columns, self._reason, self._source), None)
        except InvalidField as exc:
            return ImportRow(start, None, f"{exc.field}: {exc.message}" if exc.field else exc.message)


def _entry_of(
    row: list[str], columns: dict[str, int] | None, reason: SuppressionReason, source: str
) -> SuppressionEntry:
    def cell(name: str) -> str | None:
        if columns is None or name not in columns or columns[name] >= len(row):
            return None
        return from_spreadsheet(row[columns[name]].strip()) or None  # an export re-imported

    if columns is None:
        kind, value = SuppressionKind.ADDRESS, parse_email_key(row[0].strip(), "email")
    elif (domain := cell("domain")) is not None or cell("kind") == "domain":
        kind, value = SuppressionKind.DOMAIN, parse_domain_key(domain or cell("value") or "", "domain")
    else:
        kind, value = SuppressionKind.ADDRESS, parse_email_key(cell("email") or cell("value") or "", "email")
    expires = cell("expires_at")
    detail = cell("detail")
    if detail is not None and len(detail) > MAX_DETAIL:
        raise InvalidField(f"longer than {MAX_DETAIL} characters", field="detail")
    given_source = cell("source")
    return SuppressionEntry(
        kind=kind,
        value=value,
        reason=parse_reason(cell("reason"), "reason") if cell("reason") else reason,
        source=refuse_controls(given_source, "source") if given_source else source,
        detail=refuse_controls(detail, "detail", multiline=True) if detail else None,
        expires_at=parse_time(expires, "expires_at") if expires else None,
    )
