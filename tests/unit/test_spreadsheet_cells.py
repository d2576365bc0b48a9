"""CSV export cells: never a formula to a spreadsheet, and the import gets every cell back exactly."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from validator.wire.csv_records import from_spreadsheet, to_spreadsheet

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # OWASP CSV Injection


@pytest.mark.parametrize(
    ("cell", "exported"),
    [
        ("=1+1", "'=1+1"),  # a formula
        ("-list@example.com", "'-list@example.com"),  # a legal address that starts like one
        ("@SUM(A1)", "'@SUM(A1)"),  # Lotus-style
        ("\t=x", "'\t=x"),  # a tab before the formula
        ("'=x", "''=x"),  # a quote of its own before a formula start: one more, so it comes back
        ("'plain", "'plain"),  # a quote before ordinary text: left alone
        ("plain@example.com", "plain@example.com"),
        ("", ""),
    ],
    ids=["formula", "dash-address", "at", "tab", "quoted-formula", "quoted-text", "plain", "empty"],
)
def test_cells_are_neutralised(cell, exported):
    assert to_spreadsheet(cell) == exported


@given(st.text(alphabet=st.sampled_from("'=+-@\t\rab"), max_size=6) | st.text(max_size=20))
def test_every_cell_comes_back_and_none_starts_a_formula(cell):
    exported = to_spreadsheet(cell)
    assert not exported.startswith(FORMULA_STARTS)
    assert from_spreadsheet(exported) == cell
