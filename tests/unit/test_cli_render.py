"""The one table layout of the CLI (``check``, ``keys list``, ``report``, the list summary):
columns two spaces apart, as wide as their widest cell, no trailing spaces."""

from validator.cli.progress import summary_table
from validator.cli.render import render_table
from validator.jobs.model import Counts


def test_columns_are_as_wide_as_their_widest_cell_with_no_trailing_spaces():
    rows = [("ADDRESS", "STATUS", "SUGGESTION"), ("jane@example.com", "risky", "-"), ("a@b.co", "deliverable", "-")]
    assert render_table(rows) == (
        "ADDRESS           STATUS       SUGGESTION\n"
        "jane@example.com  risky        -\n"  # the last column is not padded out
        "a@b.co            deliverable  -\n"
    )


def test_right_aligned_columns_line_up_their_last_digits():
    assert render_table([("REASON", "ROWS"), ("dns_error", "1,204"), ("role_account", "7")], right={1}) == (
        "REASON         ROWS\ndns_error     1,204\nrole_account      7\n"
    )


def test_the_summary_shares_one_width_across_its_status_and_reason_sections():
    counts = Counts({"deliverable": 3, "undeliverable": 1}, {"invalid_syntax": 1})
    assert summary_table(counts, 4) == (
        "STATUS          ROWS  SHARE\n"
        "deliverable        3  75.0%\n"
        "undeliverable      1  25.0%\n"
        "REASON          ROWS  SHARE\n"
        "invalid_syntax     1  25.0%\n"
    )
