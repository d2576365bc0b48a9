"""The three upload formats as row sources, fed a network chunk at a time. Pure: bytes in, rows out.


Three formats, fed as they arrive so a million-row upload is never held whole:

- **CSV** (``text/csv``): the address column by name (``column``) or 0-based index
  (``column_index``); a header is detected when no cell of the first record holds an ``@``
  (or forced with ``header``); cells are split on commas, or on the ";" or TAB of a first record
  that holds no comma (``csv_records.delimiter_of``). Without a choice, the header's first cell named like
  ``email``/``e-mail``/``email_address``/``address``/``mail`` is taken, a one-column header
  is taken, and without a header the first cell of the first row holding an ``@``.
  A cell ``Jane Doe <jane@example.com>`` is answered for ``jane@example.com``; the result
  keeps the cell as ``input``. Row numbers are the line a record starts on (quoted line
  breaks survive chunking, RFC 4180 §2.6); a line that is not UTF-8, or a record longer than
  ``csv_records.MAX_RECORD_BYTES``, is answered ``invalid_syntax`` with its row number, the rest
  of the file goes on. A quote that never closes refuses the upload (``InvalidCsv``, its line).
- **NDJSON** (``application/x-ndjson``): one JSON string or ``{"email": ...}`` per line;
  a line that is neither (or not UTF-8) is answered ``invalid_syntax``.
- **JSON** (``application/json``): ``{"emails": [...], "smtp", "dedupe", "callback_url"}``,
  parsed incrementally (ijson, behind ``json_guard``'s limits); the row number is the 1-based
  position in ``emails``. A body that is not valid JSON, or breaks a limit, refuses the whole
  job (``invalid_json``).

Blank records are skipped (no row, no answer). A problem with the upload as a whole (no
such column, too many rows, unknown field) raises a ``BadRequest`` subclass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ijson
import orjson

from validator.errors import InvalidCsv, InvalidField, InvalidJson, MissingField, UnknownField
from validator.jobs.model import InputRow
from validator.wire.csv_records import Record, RecordReader, cells_of, delimiter_of
from validator.wire.json_guard import JsonGuard

MAX_ROW_CHARS = 1024  # longer than any address can be (254 octets in SMTP): answered, not stored whole
EMAIL_NAMES = ("email", "e-mail", "email_address", "emailaddress", "email address", "address", "mail")
JSON_OPTIONS = frozenset({"smtp", "dedupe", "callback_url"})
_NOT_JSON = object()
# yajl turns "\udfff" (and the bytes ED B0 80) into surrogate bytes that Python's UTF-8 decoder then refuses
# inside ijson: a UnicodeDecodeError, not ijson's JSONError (it was a 500). orjson refuses the same strings.
_LONE_SURROGATE = "request body is not valid JSON: a string or key holds a lone UTF-16 surrogate, which is no text"


@dataclass(frozen=True, slots=True)
class CsvChoice:
    """Which CSV column holds the address, and whether the first record is a header (None: detect)."""

    name: str | None = None
    index: int | None = None
    header: bool | None = None


def address_of_cell(cell: str) -> str:
    """``"Jane Doe <jane@example.com>"`` → ``jane@example.com``; other cells stripped of spaces."""
    text = cell.strip()
    if text.endswith(">") and "<" in text:
        return text[text.rindex("<") + 1 : -1].strip()
    return text


def row_of(number: int, text: str, cell: str | None = None) -> InputRow:
    if len(text) > MAX_ROW_CHARS:
        return InputRow(number, text[:MAX_ROW_CHARS], f"longer than {MAX_ROW_CHARS} characters")
    return InputRow(number, text, cell=cell if cell is not None and cell != text else None)


class CsvRows:
    """Rows of a CSV upload (see the module docstring for the rules)."""

    def __init__(self, choice: CsvChoice) -> None:
        self._choice = choice
        self._column: int | None = None
        self._delimiter: str | None = None  # from the first record that is not blank
        self._records = RecordReader()

    def feed(self, data: bytes) -> list[InputRow]:
        return [row for record in self._records.feed(data) if (row := self._take(record)) is not None]

    def finish(self) -> list[InputRow]:
        return [row for record in self._records.finish() if (row := self._take(record)) is not None]

    def _take(self, record: Record) -> InputRow | None:
        start, text = record.start, record.text
        if record.unclosed:  # where the rows after it were meant to start is anyone's guess: refuse
            raise InvalidCsv(record.problem or "")
        if start == 1:
            text = text.removeprefix("\ufeff")  # a UTF-8 byte order mark, as spreadsheets write
        if record.problem is not None:
            return InputRow(start, address_of_cell(text.strip("\r\n"))[:MAX_ROW_CHARS], record.problem)
        if "\x00" in text:
            return InputRow(start, text.strip("\r\n").replace("\x00", "")[:MAX_ROW_CHARS], "the line holds NUL")
        delimiter = self._delimiter or delimiter_of(text)
        cells = cells_of(text.rstrip("\r\n"), delimiter)
        if not any(cell.strip() for cell in cells):
            return None
        self._delimiter = delimiter
        if self._column is None:
            self._column = self._choose(cells)
            if self._column < 0:
                self._column = -1 - self._column
                return None  # the header
        if self._column >= len(cells):
            return InputRow(start, "", f"the row has no column {self._column} (only {len(cells)})")
        cell = cells[self._column]
        if record.end != start and ("\n" in cell or "\r" in cell):  # lines a stray quote took in, reported
            return InputRow(start, cell[:MAX_ROW_CHARS], f"a quoted cell spans lines {start}-{record.end}")
        return row_of(start, address_of_cell(cell), cell)

    def _choose(self, cells: list[str]) -> int:
        """The address column; ``-1 - index`` when ``cells`` is a header to skip."""
        choice = self._choice
        header = choice.header if choice.header is not None else not any("@" in cell for cell in cells)
        if not header:
            if choice.name is not None:
                raise MissingField(f"no column named {choice.name!r}: the first row is not a header", field="column")
            if choice.index is not None:
                return choice.index
            return next((i for i, cell in enumerate(cells) if "@" in cell), 0)
        names = [cell.strip().lower() for cell in cells]
        if choice.name is not None:
            if choice.name.strip().lower() not in names:
                raise MissingField(f"no column named {choice.name!r} in the header {names}", field="column")
            return -1 - names.index(choice.name.strip().lower())
        if choice.index is not None:
            if choice.index >= len(names):
                raise MissingField(f"no column {choice.index}: the header has {len(names)}", field="column_index")
            return -1 - choice.index
        found = next((names.index(n) for n in EMAIL_NAMES if n in names), None)
        if found is None and len(names) != 1:
            raise MissingField(
                f"no address column among {names}: choose one with ?column=NAME or ?column_index=N", field="column"
            )
        return -1 - (found or 0)


class NdjsonRows:
    """Rows of an NDJSON upload: a JSON string or ``{"email": ...}`` per line."""

    def __init__(self) -> None:
        self._lines = RecordReader(quoting=False)

    def feed(self, data: bytes) -> list[InputRow]:
        return [row for line in self._lines.feed(data) if (row := self._parse(line)) is not None]

    def finish(self) -> list[InputRow]:
        return [row for line in self._lines.finish() if (row := self._parse(line)) is not None]

    @staticmethod
    def _parse(line: Record) -> InputRow | None:
        if line.overlong:
            return InputRow(line.start, "", line.problem)
        text = line.text.strip()
        if line.start == 1:
            text = text.removeprefix("\ufeff")  # a UTF-8 byte order mark (Windows PowerShell 5 writes one)
        if not text:
            return None
        try:
            value = orjson.loads(text) if not line.undecodable else _NOT_JSON
        except orjson.JSONDecodeError:
            value = _NOT_JSON
        if value is _NOT_JSON:
            return InputRow(line.start, text[:MAX_ROW_CHARS], "the line is not a JSON value (or not UTF-8)")
        if isinstance(value, dict) and set(value) <= {"email"}:
            value = value.get("email")
        if not isinstance(value, str):
            return InputRow(line.start, text[:MAX_ROW_CHARS], 'not a string nor {"email": string}')
        return row_of(line.start, value)


class JsonRows:
    """Rows of ``{"emails": [...]}``, parsed incrementally; ``options`` holds the other fields.

    ijson's ``basic_parse`` gives bare events; the nesting is counted here, since its ``parse``
    would build a dotted path for every event (memory quadratic in depth). ``JsonGuard`` sees
    every byte first."""

    def __init__(self) -> None:
        self.options: dict[str, Any] = {}
        self.on_option: Callable[[str, Any], None] | None = None  # told as each option is met
        self._guard = JsonGuard()
        self._events: list[tuple[str, Any]] = ijson.sendable_list()
        self._parser = ijson.basic_parse_coro(self._events)
        self._depth, self._key = 0, ""  # open containers; the top-level field being read
        self._seen_emails, self._position = False, 0

    def feed(self, data: bytes) -> list[InputRow]:
        self._guard.feed(data)
        try:
            self._parser.send(data)
        except ijson.JSONError as exc:
            raise InvalidJson(f"request body is not valid JSON: {exc}") from exc
        except UnicodeDecodeError as exc:
            raise InvalidJson(_LONE_SURROGATE) from exc
        return self._drain()

    def finish(self) -> list[InputRow]:
        try:
            self._parser.close()
        except ijson.JSONError as exc:
            raise InvalidJson(f"request body is not valid JSON: {exc}") from exc
        except UnicodeDecodeError as exc:
            raise InvalidJson(_LONE_SURROGATE) from exc
        rows = self._drain()
        if not self._seen_emails:
            raise MissingField("field 'emails' is required", field="emails")
        return rows

    def _drain(self) -> list[InputRow]:
        rows = [row for event, value in self._events if (row := self._event(event, value)) is not None]
        del self._events[:]
        return rows

    def _event(self, event: str, value: Any) -> InputRow | None:
        depth = self._depth
        if event in ("start_map", "start_array"):
            self._depth += 1
        elif event in ("end_map", "end_array"):
            self._depth -= 1
            return None
        if depth == 0:
            if event != "start_map":
                raise InvalidJson("request body must be a JSON object")
        elif depth == 1:
            if event == "map_key":
                if value not in JSON_OPTIONS and value != "emails":
                    raise UnknownField(f"unknown field {value!r}", field=value)
                self._key = value
            elif self._key == "emails":
                if event != "start_array":
                    raise InvalidField("must be an array of strings", field="emails")
                self._seen_emails = True
            else:
                self._option(self._key, value)
        elif depth == 2 and self._key == "emails":  # an item; deeper events belong to a non-string item
            self._position += 1
            if event == "string":
                return row_of(self._position, value)
            return InputRow(self._position, "" if value is None else str(value)[:MAX_ROW_CHARS], "not a string")
        return None

    def _option(self, name: str, value: Any) -> None:
        if name == "dedupe" and self._position:
            raise InvalidField("put dedupe before emails in the body, or in the query string", field="dedupe")
        if name == "callback_url" and not isinstance(value, str):
            raise InvalidField("must be a URL string", field=name)
        if name != "callback_url" and not isinstance(value, bool):
            raise InvalidField("must be true or false", field=name)
        self.options[name] = value
        if self.on_option is not None:
            self.on_option(name, value)
