"""A job's upload: a row source (``sources.py``: CSV, NDJSON or JSON, chosen by media type) under
the job's limits (most rows, dedupe). Pure: bytes in, rows out. A problem with the upload as a
whole (no such column, too many rows, unknown field) raises a ``BadRequest`` subclass.
"""

from __future__ import annotations

import hashlib
from typing import Any, Protocol

from validator.errors import TooManyItems, UnsupportedMediaType
from validator.jobs.model import InputRow
from validator.jobs.sources import CsvChoice, CsvRows, JsonRows, NdjsonRows
from validator.wire.body import FORM_DEFAULT

MEDIA_TYPES = {
    "text/csv": "csv",
    "application/csv": "csv",
    "text/plain": "csv",
    "application/x-ndjson": "ndjson",
    "application/ndjson": "ndjson",
    "application/jsonl": "ndjson",
    "application/x-jsonlines": "ndjson",
    "application/json": "json",
    FORM_DEFAULT: "json",
}


class RowSource(Protocol):
    """A format's parser: whole network chunks in, complete rows out."""

    def feed(self, data: bytes) -> list[InputRow]: ...

    def finish(self) -> list[InputRow]: ...


def format_of(content_type: str) -> str:
    """``csv``, ``ndjson`` or ``json`` from a media type; ``UnsupportedMediaType`` otherwise."""
    kind = MEDIA_TYPES.get(content_type.split(";")[0].strip().lower())
    if kind is None:
        raise UnsupportedMediaType("send text/csv, application/x-ndjson or application/json")
    return kind


class Upload:
    """A ``RowSource`` with the job's limits: at most ``max_rows`` rows, and (``dedupe``)
    a repeated address, compared trimmed and case-insensitively, answered by reference to its
    first row instead of being checked again. The dedupe set keeps an 8-byte hash per address
    (about 100 bytes a row in Python): two addresses share one with odds near 3e-8 in a
    million-row list."""

    def __init__(self, source: RowSource, max_rows: int, dedupe: bool) -> None:
        self.source, self._max_rows = source, max_rows
        self.rows = 0
        self._seen: dict[int, int] | None = {} if dedupe else None
        if isinstance(source, JsonRows):
            source.on_option = self._on_option

    def feed(self, data: bytes) -> list[InputRow]:
        return self._admit(self.source.feed(data))

    def finish(self) -> list[InputRow]:
        return self._admit(self.source.finish())

    def _on_option(self, name: str, value: Any) -> None:
        if name == "dedupe":
            self._seen = {} if value else None

    def _admit(self, rows: list[InputRow]) -> list[InputRow]:
        self.rows += len(rows)
        if self.rows > self._max_rows:
            raise TooManyItems(f"at most {self._max_rows:,} rows per job", field="emails")
        if self._seen is None:
            return rows
        return [self._dedupe(row) for row in rows]

    def _dedupe(self, row: InputRow) -> InputRow:
        if row.error is not None:
            return row
        key = int.from_bytes(hashlib.blake2b(row.email.strip().lower().encode(), digest_size=8).digest())
        first = self._seen.setdefault(key, row.row)  # type: ignore[union-attr]
        return row if first == row.row else InputRow(row.row, row.email, None, first, row.cell)


def source_for(kind: str, choice: CsvChoice) -> RowSource:
    if kind == "csv":
        return CsvRows(choice)
    if kind == "ndjson":
        return NdjsonRows()
    return JsonRows()
