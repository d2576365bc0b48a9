"""``python -m bench.bounce_accuracy [--misses] [--seconds S]`` (or ``python -m bench bounces``): bounce accuracy.

Reads every message of ``tests/data/bounces`` with ``validator.bounces.readers.message.read_message``
and, in the same run, with flufl.bounce 6 (Mailman's detectors: ``all_failures`` gives the
temporary and permanent address sets) as a baseline. Prints, as markdown: recipient extraction
rate, hard-bounce precision and recall against Sisimai's ``hardbounce`` labels, facts from the
non-bounce negatives, reason agreement per reason (ours only: flufl.bounce has no reasons), the real-MTA
corpus per MTA (``tests/data/mta-dsn``: Postfix, Exim, Sendmail, and OpenSMTPD and Courier, families the
development corpus lacks), and throughput on one core, in messages per CPU second of this process (wall time
would count other processes' load on a shared machine). The judging lives in
``tests/corpus/bounce_agreement.py`` so the corpus test and these tables cannot drift. Run from the project root.
"""

from __future__ import annotations

import argparse
import email
from collections import Counter
from collections.abc import Callable
from typing import Any

from bench.bounce_families import family_table, leave_families_out
from tests.corpus.bounce_agreement import (
    CORPUS,
    Row,
    Score,
    load_rows,
    read_corpus,
    reason_table,
    score_addresses,
    score_ours,
    throughput,
)
from tests.corpus.label_review import REVIEW, arguable
from tests.corpus.mta_agreement import per_mta_table


def flufl_scanner() -> Callable[[bytes], tuple[set[str], set[str]]] | None:
    try:
        from flufl.bounce import all_failures
    except ImportError:  # the test extra installs it; without it the baseline column says so
        return None

    def scan(raw: bytes) -> tuple[set[str], set[str]]:
        try:
            temporary, permanent = all_failures(email.message_from_bytes(raw))
        except Exception:  # flufl.bounce raises on some malformed input; count that as nothing found
            return set(), set()
        return ({_text(a).casefold() for a in temporary}, {_text(a).casefold() for a in permanent})

    return scan


def _text(address: bytes | str) -> str:
    return address.decode("utf-8", "replace") if isinstance(address, bytes) else str(address)


def comparison_table(ours: Score, baseline: Score | None, ours_rate: float, baseline_rate: float | None) -> str:
    def cell(score: Score | None, value: Callable[[Score], str]) -> str:
        return value(score) if score is not None else "not installed"

    rows = [
        ("Recipients found (goal ≥ 97%)", lambda s: f"{s.recipient_rate:.1f}% ({s.found}/{s.scorable})"),
        ("Hard-bounce precision (goal ≥ 97%)", lambda s: f"{s.precision:.1f}% ({s.hard_hit}/{s.predicted_hard})"),
        ("Hard-bounce recall (goal ≥ 95%)", lambda s: f"{s.recall:.1f}% ({s.hard_hit}/{s.true_hard})"),
        ("Negatives with facts (goal 0 of 2)", lambda s: str(len(s.negatives_with_facts))),
        ("Reason agreement", lambda s: f"{s.reason_rate:.1f}%" if s.reasons else "n/a (no reasons)"),
    ]
    lines = ["| Measure | validator | flufl.bounce 6 |", "|---|---:|---:|"]
    lines += [f"| {name} | {value(ours)} | {cell(baseline, value)} |" for name, value in rows]
    rate = f"{baseline_rate:,.0f}" if baseline_rate is not None else "not installed"
    lines.append(f"| Messages per CPU second, one core (goal ≥ 500) | {ours_rate:,.0f} | {rate} |")
    return "\n".join(lines)


def review_section(rows: list[Row], facts: dict[str, Any], ours: Score) -> str:
    """Each overruled label with its reviewer's verdict (tests/corpus/label_review.py), and the figures if the
    arguable ones were scored by their labels."""
    verdicts = Counter(REVIEW[file][0] for file in ours.overruled_files)
    strict = score_ours(rows, facts, keep_labels=arguable())
    labels = {row.file: row.reason for row in rows if row.file in ours.overruled_files and not row.hard}
    lines = [
        f"Reviewed against the whole message (tests/corpus/label_review.py): "
        f"{', '.join(f'{n} {v}' for v, n in sorted(verdicts.items()))}.\n",
        "| File | Label | Verdict | The message says |",
        "|---|---|---|---|",
        *(f"| {f} | {labels.get(f, '')} | {REVIEW[f][0]} | {REVIEW[f][1]} |" for f in ours.overruled_files),
        "",
        f"Scoring only the `plain` rows by their meaning and the rest by their labels: hard-bounce precision "
        f"{strict.precision:.1f}% ({strict.hard_hit}/{strict.predicted_hard}), recall {strict.recall:.1f}% "
        f"({strict.hard_hit}/{strict.true_hard}).",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bounce_accuracy", description=__doc__.split("\n")[0])
    parser.add_argument("--misses", action="store_true", help="list the rows whose recipient was not found")
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each throughput run (default 3)")
    args, _ = parser.parse_known_args(argv)  # `python -m bench bounces` may pass shared options on
    rows = load_rows()
    facts = read_corpus()
    ours = score_ours(rows, facts)
    scan = flufl_scanner()
    baseline = score_addresses(rows, scan) if scan is not None else None
    ours_rate = throughput(args.seconds)
    baseline_rate = throughput(args.seconds, scan) if scan is not None else None
    messages = len(list((CORPUS / "emails").glob("*.eml")))
    print(
        f"## Bounce reading accuracy: {messages} messages, {len(rows)} labelled recipients "
        f"({len(rows) - ours.scorable} redacted complaints not scorable for recipients)\n"
    )
    print(comparison_table(ours, baseline, ours_rate, baseline_rate), end="\n\n")
    print(f"Unparseable (ours): {', '.join(ours.unparseable) or 'none'}\n")
    raw = score_ours(rows, facts, follow_meaning=False)
    print(f"### Labels overruled by the reply's plain meaning ({len(ours.label_overrides)} rows)\n")
    print(
        "Scored as hard because the reply says the mailbox does not exist; against the raw labels the "
        f"hard-bounce precision is {raw.precision:.1f}% ({raw.hard_hit}/{raw.predicted_hard}) and recall "
        f"{raw.recall:.1f}% ({raw.hard_hit}/{raw.true_hard}).\n"
    )
    print(review_section(rows, facts, ours), end="\n\n")
    print("### Per family (file name's MTA or provider)\n")
    print(family_table(rows, facts), end="\n\n")
    print("### Leave families out (bench/bounce_families.py)\n")
    print(leave_families_out(rows), end="\n\n")
    print("### Real MTAs: DSNs they wrote for failures a script caused (tests/data/mta-dsn)\n")
    print(per_mta_table(), end="\n\n")
    print("### Reason agreement per Sisimai reason (ours)\n")
    print(reason_table(ours), end="\n\n")
    if args.misses:
        print("### Recipients not found\n")
        print("\n".join(f"- {miss}" for miss in ours.misses) or "none", end="\n\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
