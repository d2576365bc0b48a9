"""Every DSN a real Postfix, Exim, OpenSMTPD, Sendmail or Courier wrote for a failure we caused is read as that failure
(tests/data/mta-dsn).

The corpus is re-created by ``tests/corpus/mta/make_corpus.sh``; its labels are what the script did
(an unknown user, a full mailbox, an expired greylisting, ...), not anybody's reading of the text.
"""

from __future__ import annotations

import re

import pytest

from tests.corpus.mta import courier_dsns, exim_dsns, opensmtpd_dsns, postfix_dsns, sendmail_dsns
from tests.corpus.mta_agreement import ROWS, per_mta_table, reading


def test_the_corpus_covers_every_case_the_script_causes() -> None:
    # each script's cases, every one with its recipients: a missing case or recipient fails here. an MTA may
    # return the three-recipient case as one DSN or as two (``<case>-2``), as its deliveries end together or not
    scripts = {
        "postfix": postfix_dsns,
        "exim": exim_dsns,
        "opensmtpd": opensmtpd_dsns,
        "sendmail": sendmail_dsns,
        "courier": courier_dsns,
    }
    for mta, cases in ((name, script.CASES) for name, script in scripts.items()):
        wanted = {(case.name, address) for case in cases for address, _, _ in case.recipients}
        found = {
            (re.sub(r"-[2-9]$", "", row["file"].removeprefix(f"{mta}-").removesuffix(".eml")), row["recipient"])
            for row in ROWS
            if row["file"].startswith(f"{mta}-")
        }
        assert found == wanted, mta
    assert [len(script.CASES) for script in scripts.values()] == [16, 14, 13, 13, 13]


@pytest.mark.parametrize("row", ROWS, ids=[f"{r['file']}:{r['recipient']}" for r in ROWS])
def test_dsn_is_read_as_the_failure_caused(row: dict[str, str]) -> None:
    assert reading(row) == (row["event"], row["category"])


def test_the_bench_table_counts_every_row_once() -> None:
    table = per_mta_table()
    rows = [line for line in table.splitlines()[2:]]
    assert len(rows) == 5
    assert sum(int(line.split("|")[3]) for line in rows) == len(ROWS)
    # the families no rule was written for are marked as such, and only they
    unseen = sorted(line.split()[1] for line in rows if "| **no** |" in line)
    assert unseen == ["courier", "opensmtpd"]
