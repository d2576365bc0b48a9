"""Every DSN a real Postfix, Exim or OpenSMTPD wrote for a failure we caused is read as that failure
(tests/data/mta-dsn).

The corpus is re-created by ``tests/corpus/mta/make_corpus.sh``; its labels are what the script did
(an unknown user, a full mailbox, an expired greylisting, ...), not anybody's reading of the text.
"""

from __future__ import annotations

import pytest

from tests.corpus.mta_agreement import ROWS, per_mta_table, reading


def test_the_corpus_covers_every_case_the_script_causes() -> None:
    # Postfix 16 messages, Exim 14 (no virtual table, no access-table MX), OpenSMTPD 13 cases (it refuses
    # unknown local and virtual users in the session, writing no DSN) in 14 messages (the three-recipient case
    # comes back as two DSNs); fewer means a case went missing
    files = {row["file"] for row in ROWS}
    by_mta = [len({f for f in files if f.startswith(mta)}) for mta in ("postfix-", "exim-", "opensmtpd-")]
    assert (by_mta, len(ROWS)) == ([16, 14, 14], 49)


@pytest.mark.parametrize("row", ROWS, ids=[f"{r['file']}:{r['recipient']}" for r in ROWS])
def test_dsn_is_read_as_the_failure_caused(row: dict[str, str]) -> None:
    assert reading(row) == (row["event"], row["category"])


def test_the_bench_table_counts_every_row_once() -> None:
    table = per_mta_table()
    rows = [line for line in table.splitlines()[2:]]
    assert len(rows) == 3
    assert sum(int(line.split("|")[3]) for line in rows) == len(ROWS)
    assert "| **no** |" in next(line for line in rows if line.startswith("| opensmtpd"))
