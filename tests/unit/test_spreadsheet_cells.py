"""CSV export cells: never a formula to a spreadsheet, and the import gets every cell back exactly."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from validator.wire.csv_records import from_spreadsheet, to_spreadsheet

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # OWASP CSV Injection
# Where a spreadsheet may start a cell inside ours: Excel in a ";" locale splits on ";" and line
# breaks whatever our quotes say; a text import may split on TAB.
SPLITS = (";", "\t")


def cells_a_spreadsheet_may_see(exported: str) -> list[str]:
    """Every piece a split on ``;``, TAB or a line break can start, with the quotes a CSV reader drops."""
    pieces = [exported]
    for separator in SPLITS:
        pieces += re.split(f"[{separator}\r\n]", exported)[1:]
    pieces += re.split("[\r\n]", exported)[1:]
    return [piece.lstrip('"') for piece in pieces]


@pytest.mark.parametrize(
    ("cell", "exported"),
    [
        ("=1+1", "'=1+1"),  # a formula
        ("-list@example.com", "'-list@example.com"),  # a legal address that starts like one
        ("@SUM(A1)", "'@SUM(A1)"),  # Lotus-style
        ("\t=x", "'\t'=x"),  # a tab before the formula: the tab may be a separator too
        ("'=x", "''=x"),  # a quote of its own before a formula start: one more, so it comes back
        ("'plain", "'plain"),  # a quote before ordinary text: left alone
        ("plain@example.com", "plain@example.com"),
        ("", ""),
        ("x;=cmd|' /C calc'!A0;", "x;'=cmd|' /C calc'!A0;"),  # a new cell in Excel with ";" as list separator
        ('x;"=1+1"', 'x;\'"=1+1"'),  # the same, as a quoted field of that split
        ("550 5.1.1 gone\n-x", "550 5.1.1 gone\n'-x"),  # a line break ends the row there
        ("a\t@SUM(1)", "a\t'@SUM(1)"),  # a TAB-separated import
        ("550 5.1.1 a;b - c", "550 5.1.1 a;b - c"),  # separators before ordinary text: left alone
        ("disposable;role_account", "disposable;role_account"),  # a job's reasons, joined with ";"
    ],
    ids=[
        "formula",
        "dash-address",
        "at",
        "tab",
        "quoted-formula",
        "quoted-text",
        "plain",
        "empty",
        "semicolon",
        "semicolon-quoted",
        "line-break",
        "tab-inside",
        "separators-before-text",
        "reasons",
    ],
)
def test_cells_are_neutralised(cell, exported):
    assert to_spreadsheet(cell) == exported


@given(st.text(alphabet=st.sampled_from("'\"=+-@;\t\r\nab"), max_size=8) | st.text(max_size=20))
def test_every_cell_comes_back_and_no_split_starts_a_formula(cell):
    exported = to_spreadsheet(cell)
    for piece in cells_a_spreadsheet_may_see(exported):
        assert not piece.startswith(FORMULA_STARTS), (exported, piece)
    assert from_spreadsheet(exported) == cell
