"""The progress line of ``batch`` and ``jobs submit --wait``: no rate or ETA before a row is answered."""

import io

from validator.cli.progress import Progress


def test_nothing_answered_shows_no_rate_and_no_eta():
    progress = Progress(2000, io.StringIO())
    assert progress.line(progress._began + 5) == "[....................]   0%  0/2,000 rows"  # not "ETA 0:00"


def test_the_eta_follows_the_rate_once_rows_are_answered():
    progress = Progress(2000, io.StringIO())
    progress.done = 500
    assert progress.line(progress._began + 10).endswith("500/2,000 rows  50 rows/s  ETA 0:30")


def test_the_first_advance_draws_at_once_even_off_a_terminal():
    out = io.StringIO()
    Progress(3, out).advance(0)
    assert out.getvalue() == "[....................]   0%  0/3 rows\n"
