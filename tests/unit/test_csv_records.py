"""CSV records from bytes: the same records as Python's csv module, however the network cut them,
in memory bounded by the record limit and with every unreadable record named by its lines."""

from __future__ import annotations

import csv
import io
import random
import tracemalloc

import pytest

from validator.wire.csv_records import MAX_RECORD_BYTES, Record, RecordReader


def read(data: bytes, step: int, quoting: bool = True) -> list[Record]:
    reader = RecordReader(quoting=quoting)
    records = []
    for i in range(0, len(data), step):
        records += reader.feed(data[i : i + step])
    return records + reader.finish()


def csv_module_records(text: str) -> list[tuple[int, int, list[str]]]:
    """(first line, last line, cells) of each record as the csv module reads the whole text."""
    reader = csv.reader(io.StringIO(text, newline=""))
    found, previous = [], 0
    for cells in reader:
        found.append((previous + 1, reader.line_num, cells))
        previous = reader.line_num
    return found


def test_records_agree_with_the_csv_module_on_random_text_and_cuts():
    # commas, quotes and every kind of line break, densely mixed: each case a few dozen bytes
    alphabet = ["a", "b", ",", '"', '"', "\n", "\r", "\r\n", " "]
    rng = random.Random(4180)
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        expected = csv_module_records(text)
        records = read(text.encode(), rng.randint(1, 7))
        assert [(r.start, r.end) for r in records] == [(start, end) for start, end, _ in expected], repr(text)
        for record, (_, _, cells) in zip(records, expected, strict=False):
            if not record.unclosed:  # an unclosed record is refused, so its cells never matter
                assert next(csv.reader([record.text]), []) == cells, repr(text)
        assert [r.unclosed for r in records[:-1]] == [False] * (len(records) - 1)


@pytest.mark.parametrize("step", [1, 2, 5, 512])
def test_a_quote_inside_an_unquoted_cell_is_text_and_joins_no_lines(step):
    # the stray quote that used to swallow the rest of the file: csv reads it as a literal character
    records = read(b'email\na@example.com\nb"@example.com\nc@example.com\nd@example.com\n', step)
    assert [(r.start, r.text) for r in records] == [
        (1, "email"),
        (2, "a@example.com"),
        (3, 'b"@example.com'),
        (4, "c@example.com"),
        (5, "d@example.com"),
    ]


def test_a_quote_that_never_closes_is_unclosed_and_names_its_lines():
    records = read(b'a@example.com\n"b@example.com\nc@example.com\nd@example.com\n', 3)
    assert [(r.start, r.end, r.unclosed) for r in records] == [(1, 1, False), (2, 4, True)]
    assert "opens on line 2 and never closes, so lines 2-4 cannot be read" in (records[-1].problem or "")


def test_a_record_over_the_limit_is_read_through_kept_nowhere_and_named():
    giant = b"x" * (MAX_RECORD_BYTES * 3)
    records = read(b"a@example.com\n" + giant + b"\nb@example.com\n", 512)
    assert [(r.start, r.overlong, r.text) for r in records] == [
        (1, False, "a@example.com"),
        (2, True, ""),
        (3, False, "b@example.com"),
    ]
    assert records[1].problem == f"longer than {MAX_RECORD_BYTES:,} bytes (line 2), so not read"


def test_an_eight_megabyte_line_costs_no_memory_beyond_the_record_limit():
    # the pending line used to be kept, and re-joined at every 512-byte piece (quadratic time)
    reader, piece = RecordReader(), b"a" * 512
    tracemalloc.start()
    try:
        for _ in range((8 << 20) // len(piece)):
            reader.feed(piece)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 3 * MAX_RECORD_BYTES
    assert [(r.start, r.overlong) for r in reader.finish()] == [(1, True)]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"a\r\nb\r\n", [(1, "a"), (2, "b")]),  # CRLF
        (b"a\rb\r", [(1, "a"), (2, "b")]),  # old Mac line ends
        (b'"x\r\ny",a\r\nb', [(1, '"x\r\ny",a'), (3, "b")]),  # a quoted CRLF is text; no final break
        (b"a\n\nb\n", [(1, "a"), (2, ""), (3, "b")]),  # a blank line is a record of its own
    ],
    ids=["crlf", "cr", "quoted-crlf", "blank"],
)
@pytest.mark.parametrize("step", [1, 2, 3, 64])
def test_line_breaks_whatever_the_cut(data, expected, step):
    assert [(r.start, r.text) for r in read(data, step)] == expected


def test_lines_without_quoting_ignore_quotes_and_mark_bad_utf8():
    # NDJSON: a quote never spans lines there, and a line that is not UTF-8 is marked, not dropped
    records = read(b'"a\n\xff"b\n"c"', 2, quoting=False)
    assert [(r.start, r.text, r.undecodable) for r in records] == [
        (1, '"a', False),
        (2, '\ufffd"b', True),
        (3, '"c"', False),
    ]
