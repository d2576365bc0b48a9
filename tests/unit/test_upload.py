"""Upload parsing: bytes in, rows out, whatever the network chunking (pure, plain values)."""

from __future__ import annotations

import pytest

from validator.errors import InvalidCsv, InvalidField, InvalidJson, MissingField, TooManyItems, UnsupportedMediaType
from validator.jobs.model import InputRow
from validator.jobs.sources import CsvChoice, CsvRows, JsonRows, NdjsonRows, address_of_cell
from validator.jobs.upload import Upload, format_of
from validator.wire.csv_records import MAX_RECORD_BYTES


def parse(source, data: bytes, step: int = 3) -> list[InputRow]:
    """Feed ``data`` in pieces of ``step`` bytes: no row may depend on where the network cut it."""
    rows = []
    for i in range(0, len(data), step):
        rows += source.feed(data[i : i + step])
    return rows + source.finish()


def emails(rows: list[InputRow]) -> list[tuple[int, str]]:
    return [(r.row, r.email) for r in rows]


@pytest.mark.parametrize(
    ("cell", "address"),
    [
        ("Jane Doe <jane@example.com>", "jane@example.com"),  # a mail client's export
        ("<jane@example.com>", "jane@example.com"),  # angle brackets alone
        ("  jane@example.com ", "jane@example.com"),  # spaces around a plain address
        ('"Doe, Jane" <jane@example.com> ', "jane@example.com"),  # a quoted display name with a comma
        ("jane@example.com>", "jane@example.com>"),  # no opening bracket: left for the syntax check to refuse
    ],
    ids=["display-name", "brackets", "spaces", "quoted-name", "unbalanced"],
)
def test_address_of_cell(cell, address):
    assert address_of_cell(cell) == address


@pytest.mark.parametrize(
    ("body", "choice", "expected"),
    [
        (b"email\na@x.com\nb@x.com\n", CsvChoice(), [(2, "a@x.com"), (3, "b@x.com")]),  # header detected
        (b"a@x.com\nb@x.com", CsvChoice(), [(1, "a@x.com"), (2, "b@x.com")]),  # no header, no final newline
        (b"id,E-Mail\n1,a@x.com\n", CsvChoice(), [(2, "a@x.com")]),  # a known name, any case
        (b"1,Ann,a@x.com\n2,Bob,b@x.com\n", CsvChoice(), [(1, "a@x.com"), (2, "b@x.com")]),  # the cell with an @
        (b"n,who\n1,a@x.com\n", CsvChoice(name="who"), [(2, "a@x.com")]),  # by name
        (b"n,who\n1,a@x.com\n", CsvChoice(index=1), [(2, "a@x.com")]),  # by index, header skipped
        (b"x,a@x.com\n", CsvChoice(index=1, header=False), [(1, "a@x.com")]),  # header forced off
        (
            b'\xef\xbb\xbfemail\r\n"a@x.com"\r\n\r\nb@x.com\r\n',
            CsvChoice(),
            [(2, "a@x.com"), (4, "b@x.com")],
        ),  # BOM, CRLF, blank
        (
            b'name,email\n"multi\nline",a@x.com\nB,b@x.com\n',
            CsvChoice(),
            [(2, "a@x.com"), (4, "b@x.com")],
        ),  # quoted line break
    ],
    ids=[
        "header",
        "no-header",
        "known-name",
        "at-cell",
        "by-name",
        "by-index",
        "forced-no-header",
        "bom-crlf-blank",
        "quoted-newline",
    ],
)
def test_csv_rows(body, choice, expected):
    assert emails(parse(CsvRows(choice), body)) == expected


def test_csv_bad_utf8_line_is_a_row_with_an_error():
    rows = parse(CsvRows(CsvChoice()), b"a@x.com\nb\xff@x.com\nc@x.com\n")
    assert [(r.row, r.error) for r in rows] == [(1, None), (2, "the line is not valid UTF-8"), (3, None)]


@pytest.mark.parametrize(
    ("body", "choice", "field"),
    [
        (b"name,city\nAnn,Paris\n", CsvChoice(), "column"),  # a header without an address column
        (b"email\na@x.com\n", CsvChoice(name="mail"), "column"),  # no such name
        (b"a@x.com\n", CsvChoice(name="email"), "column"),  # a name, but no header
        (b"email\na@x.com\n", CsvChoice(index=2), "column_index"),  # no such index
    ],
    ids=["no-address-column", "no-such-name", "name-without-header", "no-such-index"],
)
def test_csv_missing_column_refuses_the_upload(body, choice, field):
    with pytest.raises(MissingField) as caught:
        parse(CsvRows(choice), body)
    assert caught.value.field == field


def test_csv_short_row_and_long_cell_are_answered_not_refused():
    rows = parse(CsvRows(CsvChoice(index=1, header=False)), b"x,a@x.com\nlonely\nx," + b"a" * 2000 + b"\n")
    assert [r.error is None for r in rows] == [True, False, False]
    assert len(rows[2].email) == 1024


def test_csv_quote_inside_a_cell_is_text_and_every_row_is_answered():
    # a stray quote used to join the following lines into one record: 4 rows answered as 2
    rows = parse(CsvRows(CsvChoice()), b'email\na@x.com\nb"@x.com\nc@x.com\nd@x.com\n', step=512)
    assert emails(rows) == [(2, "a@x.com"), (3, 'b"@x.com'), (4, "c@x.com"), (5, "d@x.com")]


@pytest.mark.parametrize("tail_rows", [2, 20_000], ids=["short", "past-the-csv-field-limit"])
def test_csv_quote_that_never_closes_refuses_the_upload_naming_its_line(tail_rows):
    # more than 131,072 bytes after the quote used to raise the csv module's field limit error (a 500)
    body = b'email\na@x.com\n"b@x.com\n' + b"".join(b"u%d@x.com\n" % i for i in range(tail_rows))
    with pytest.raises(InvalidCsv, match="a quoted field opens on line 3 and never closes"):
        parse(CsvRows(CsvChoice()), body, step=512)


def test_csv_quoted_cell_spanning_lines_is_answered_with_the_lines_it_took():
    # a quote opening a cell and another closing it lines later: one record, per RFC 4180, reported
    rows = parse(CsvRows(CsvChoice()), b'email\n"a@x.com\nb@x.com\nc"@x.com\nd@x.com\n', step=512)
    assert [(r.row, r.error) for r in rows] == [(2, "a quoted cell spans lines 2-4"), (5, None)]


def test_csv_and_ndjson_record_over_the_limit_is_answered_and_the_rest_goes_on():
    giant = b"a" * (MAX_RECORD_BYTES + 1)
    for source in (CsvRows(CsvChoice(header=False)), NdjsonRows()):
        body = b'"a@x.com"\n' + giant + b'\n"b@x.com"\n'
        rows = parse(source, body, step=512)
        assert [(r.row, r.error) for r in rows] == [
            (1, None),
            (2, f"longer than {MAX_RECORD_BYTES:,} bytes (line 2), so not read"),
            (3, None),
        ]


def test_ndjson_rows():
    rows = parse(NdjsonRows(), b'"a@x.com"\n{"email": "b@x.com"}\n\n{"mail": 1}\nnot json\n"c@x.com"')
    assert [(r.row, r.email if r.error is None else "error") for r in rows] == [
        (1, "a@x.com"),
        (2, "b@x.com"),
        (4, "error"),
        (5, "error"),
        (6, "c@x.com"),
    ]


def test_json_rows_and_options():
    source = JsonRows()
    rows = parse(source, b'{"smtp": true, "emails": ["a@x.com", 7, ["n"], "b@x.com"], "callback_url": "https://h/x"}')
    assert [(r.row, r.error) for r in rows] == [(1, None), (2, "not a string"), (3, "not a string"), (4, None)]
    assert source.options == {"smtp": True, "callback_url": "https://h/x"}


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b'["a@x.com"]', InvalidJson),  # not an object
        (b'{"emails": "a@x.com"}', InvalidField),  # not an array
        (b'{"emails": ["a@x.com"]', InvalidJson),  # truncated
        (b'{"smtp": false}', MissingField),  # no emails
        (b'{"emails": ["a@x.com"], "dedupe": true}', InvalidField),  # dedupe after emails cannot apply
        (b'{"emails": ' + b"[" * 2000 + b"]" * 2000 + b"}", InvalidJson),  # memory grew with depth squared
        (b'{"emails": ["' + b"a" * (1 << 20) + b'"]}', InvalidJson),  # a string re-read at every piece
    ],
    ids=["array", "string", "truncated", "no-emails", "late-dedupe", "deep", "long-string"],
)
def test_json_refusals(body, error):
    with pytest.raises(error):
        parse(JsonRows(), body)


def test_upload_limit_and_dedupe():
    upload = Upload(NdjsonRows(), max_rows=3, dedupe=True)
    rows = parse(upload, b'"a@x.com"\n" A@X.com "\n"b@x.com"\n')
    assert [r.duplicate_of for r in rows] == [None, 1, None]
    with pytest.raises(TooManyItems):
        parse(Upload(NdjsonRows(), max_rows=2, dedupe=False), b'"a@x.com"\n"b@x.com"\n"c@x.com"\n')


@pytest.mark.parametrize(
    ("content_type", "kind"),
    [
        ("text/csv; charset=utf-8", "csv"),
        ("application/x-ndjson", "ndjson"),
        ("application/json", "json"),
    ],
)
def test_format_of(content_type, kind):
    assert format_of(content_type) == kind


def test_format_of_refuses_other_media_types():
    with pytest.raises(UnsupportedMediaType):
        format_of("application/vnd.ms-excel")
