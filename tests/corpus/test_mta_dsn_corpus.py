"""Every DSN a real Postfix or Exim wrote for a failure we caused is read as that failure (tests/data/mta-dsn).

The corpus is re-created by ``tests/corpus/mta/make_corpus.sh``; its labels are what the script did
(an unknown user, a full mailbox, an expired greylisting, ...), not anybody's reading of the text.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from validator.bounces.policy import categorize
from validator.bounces.readers.message import read_message

CORPUS = Path(__file__).resolve().parents[1] / "data" / "mta-dsn"
ROWS = [json.loads(line) for line in (CORPUS / "manifest.jsonl").read_text().splitlines() if line.strip()]


def test_the_corpus_covers_every_case_the_script_causes() -> None:
    # Postfix 15 messages, Exim 14 (no virtual table), each with one three-recipient report:
    # fewer means a case went missing
    by_mta = {mta: {row["file"] for row in ROWS if row["file"].startswith(mta)} for mta in ("postfix-", "exim-")}
    assert (len(by_mta["postfix-"]), len(by_mta["exim-"]), len(ROWS)) == (15, 14, 33)


@pytest.mark.parametrize("row", ROWS, ids=[f"{r['file']}:{r['recipient']}" for r in ROWS])
def test_postfix_dsn_is_read_as_the_failure_caused(row: dict[str, str]) -> None:
    facts = read_message((CORPUS / row["file"]).read_bytes())
    mine = [fact for fact in facts if fact.recipient.casefold() == row["recipient"].casefold()]
    assert len(mine) == 1, [fact.recipient for fact in facts]
    assert (str(mine[0].event), str(categorize(mine[0]))) == (row["event"], row["category"]), mine[0]
