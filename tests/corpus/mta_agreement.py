"""Judging the real-MTA corpus (tests/data/mta-dsn) for the corpus test and ``python -m bench bounces`` alike.

Each manifest line is a recipient of a DSN a real MTA wrote for a failure a script caused, with the event and
policy category that failure should give (``tests/corpus/mta/make_corpus.sh``).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from tests.corpus.mta.harness import REMOTE_REPLIES
from validator.bounces.facts import Category
from validator.bounces.policy import categorize
from validator.bounces.readers.message import read_message
from validator.errors import UnparseableMessage

CORPUS = Path(__file__).resolve().parents[1] / "data" / "mta-dsn"
ROWS: list[dict[str, str]] = [
    json.loads(line) for line in (CORPUS / "manifest.jsonl").read_text().splitlines() if line.strip()
]
# MTA families with messages in the development corpus (../shared/corpora/bounces: lhost-postfix, lhost-exim,
# lhost-sendmail); OpenSMTPD and Courier have none there, so their DSNs are read by rules that never saw their wording
DEVELOPMENT_FAMILIES = ("postfix", "exim", "sendmail")


def own_wording_files() -> list[Path]:
    """The messages whose failure text the MTA wrote itself (its resolver's, its local delivery's, its own smtpd's
    as the remote MX), leaving out those quoting a reply the scripted remote MX gave (``REMOTE_REPLIES``: real
    servers' wordings, but copied by us)."""
    scripted = {row["file"] for row in ROWS if row["recipient"].partition("@")[0] in REMOTE_REPLIES}
    return [CORPUS / name for name in sorted({row["file"] for row in ROWS} - scripted)]


def reading(row: dict[str, str]) -> tuple[str, str] | None:
    """(event, category) the reader gives the row's recipient; None when it finds the recipient not exactly once."""
    try:
        facts = read_message((CORPUS / row["file"]).read_bytes())
    except UnparseableMessage:
        return None
    mine = [fact for fact in facts if fact.recipient.casefold() == row["recipient"].casefold()]
    return (str(mine[0].event), str(categorize(mine[0]))) if len(mine) == 1 else None


def per_mta_table() -> str:
    """Per MTA: recipients read right, and hard-bounce recall and precision (a ``hard_invalid`` category)."""
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])  # rows, right, hard TP, FP, FN
    for row in ROWS:
        got = reading(row)
        counts = tally[row["mta"]]
        counts[0] += 1
        counts[1] += got == (row["event"], row["category"])
        truly, said = row["category"] == Category.HARD_INVALID, bool(got and got[1] == Category.HARD_INVALID)
        counts[2] += truly and said
        counts[3] += said and not truly
        counts[4] += truly and not said
    lines = [
        "| MTA | In the development corpus | Recipients | Read right | Hard recall | Hard precision |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for mta, (rows, right, hit, false_positive, false_negative) in sorted(tally.items()):
        seen = "yes" if mta.split()[0] in DEVELOPMENT_FAMILIES else "**no**"
        recall = f"{100 * hit / (hit + false_negative):.0f}% ({hit}/{hit + false_negative})"
        precision = f"{100 * hit / (hit + false_positive):.0f}% ({hit}/{hit + false_positive})"
        lines.append(f"| {mta} | {seen} | {rows} | {right}/{rows} | {recall} | {precision} |")
    return "\n".join(lines)
