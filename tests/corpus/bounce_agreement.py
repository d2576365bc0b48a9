"""Scoring bounce readers against the labelled corpus (tests/data/bounces): shared by test and bench.

A manifest row (file, recipient) is *found* when a fact for that recipient (case-insensitive)
comes out of the file. Hard-bounce precision and recall compare ``categorize(fact) is
HARD_INVALID`` with Sisimai's ``hardbounce`` label; reasons agree when ours equals the label or
one of ``other_version_labels`` (so does the hard flag where those versions disagree on it: either
reading is right). Rows whose recipient is Sisimai's invented placeholder for a redacted complaint are
not scorable for recipients (no reader can find an address that is not there).

Where the label and the reply's plain meaning disagree, the meaning is followed and the row is listed
(``Score.label_overrides``): a row labelled soft whose reply says in so many words that the mailbox does
not exist ("550 5.2.1 <x>... User Unknown", labelled ``filtered`` here and ``userunknown`` in
lhost-postfix-02 for the very same reply) counts as hard. ``follow_meaning=False`` scores the raw labels.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from tests.support.testdata import BOUNCES as CORPUS
from validator.bounces.facts import BounceFact, Category
from validator.bounces.policy import categorize
from validator.bounces.readers.message import read_message
from validator.errors import UnparseableMessage
from validator.smtp_reply import ReplyClass, read_mailbox_words


@dataclass(frozen=True, slots=True)
class Row:
    file: str
    recipient: str
    reason: str
    reasons: frozenset[str]  # the label and every other version's label
    hard: bool
    hard_alternative: bool | None  # another Sisimai version's hardbounce, where it differs
    placeholder: bool


@dataclass
class Score:
    rows: int = 0
    scorable: int = 0
    found: int = 0
    true_hard: int = 0
    predicted_hard: int = 0
    hard_hit: int = 0
    reasons: Counter[tuple[str, bool]] = field(default_factory=Counter)  # (label, agreed) -> rows
    unparseable: list[str] = field(default_factory=list)
    negatives_with_facts: list[str] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)
    label_overrides: list[str] = field(default_factory=list)  # "file (label): the reply's words"
    overruled_files: list[str] = field(default_factory=list)

    @property
    def recipient_rate(self) -> float:
        return 100 * self.found / self.scorable if self.scorable else 0.0

    @property
    def precision(self) -> float:
        return 100 * self.hard_hit / self.predicted_hard if self.predicted_hard else 0.0

    @property
    def recall(self) -> float:
        return 100 * self.hard_hit / self.true_hard if self.true_hard else 0.0

    @property
    def reason_rate(self) -> float:
        total = sum(self.reasons.values())
        return 100 * sum(n for (_, ok), n in self.reasons.items() if ok) / total if total else 0.0


def load_rows() -> list[Row]:
    rows = []
    for line in (CORPUS / "manifest.jsonl").read_text().splitlines():
        data = json.loads(line)
        others = data.get("other_version_labels", {}).values()
        hard_others = {bool(label["hardbounce"]) for label in others} - {bool(data["hardbounce"])}
        rows.append(
            Row(
                data["file"],
                data["recipient"],
                data["reason"],
                frozenset({data["reason"], *(label["reason"] for label in others)}),
                bool(data["hardbounce"]),
                hard_others.pop() if hard_others else None,
                bool(data.get("recipient_is_placeholder")),
            )
        )
    return rows


def read_corpus() -> dict[str, list[BounceFact] | None]:
    """Our facts per file (None: unparseable), for every labelled file and every negative."""
    out: dict[str, list[BounceFact] | None] = {}
    for path in sorted((CORPUS / "emails").glob("*.eml")) + sorted((CORPUS / "negatives").glob("*.eml")):
        try:
            out[f"{path.parent.name}/{path.name}"] = read_message(path.read_bytes())
        except UnparseableMessage:
            out[f"{path.parent.name}/{path.name}"] = None
    return out


def says_no_such_mailbox(fact: BounceFact) -> bool:
    """The failure's own words say the mailbox does not exist (``smtp_reply.read_mailbox_words``)."""
    return (
        categorize(fact) is Category.HARD_INVALID
        and read_mailbox_words(fact.diagnostic or "") is ReplyClass.MAILBOX_NOT_FOUND
    )


def score_ours(
    rows: list[Row],
    facts: dict[str, list[BounceFact] | None],
    *,
    follow_meaning: bool = True,
    keep_labels: frozenset[str] = frozenset(),
) -> Score:
    """``keep_labels``: files whose label stands even where the reply's meaning disagrees (``label_review``)."""
    score = Score(rows=len(rows))
    for name, found in facts.items():
        if name.startswith("negatives/") and found:
            score.negatives_with_facts.append(name)
        elif found is None:
            score.unparseable.append(name)
    for row in rows:
        mine = [f for f in facts.get(row.file) or [] if f.recipient.casefold() == row.recipient.casefold()]
        if not row.placeholder:
            score.scorable += 1
            score.found += bool(mine)
            if not mine:
                score.misses.append(f"{row.file} {row.recipient}")
        hard = any(categorize(f) is Category.HARD_INVALID for f in mine)
        truth = hard if row.hard_alternative is hard else row.hard  # Sisimai versions disagree: either is right
        overrule = follow_meaning and row.file not in keep_labels
        if overrule and hard and not truth and any(says_no_such_mailbox(f) for f in mine):
            truth = True
            score.overruled_files.append(row.file)
            words = " ".join((mine[0].diagnostic or "").split())[:120]
            score.label_overrides.append(f"{row.file} (label {row.reason}): {words}")
        score.true_hard += truth
        score.predicted_hard += hard
        score.hard_hit += truth and hard
        if mine or row.placeholder:
            ours = {str(f.reason) for f in mine}
            score.reasons[(row.reason, bool(ours & row.reasons))] += 1
        else:
            score.reasons[(row.reason, False)] += 1
    return score


def score_addresses(rows: list[Row], scan: Callable[[bytes], tuple[set[str], set[str]]]) -> Score:
    """A baseline that reports (temporary, permanent) address sets, as flufl.bounce's ``all_failures``."""
    score = Score(rows=len(rows))
    cache: dict[str, tuple[set[str], set[str]]] = {}
    for path in sorted((CORPUS / "negatives").glob("*.eml")):
        temporary, permanent = scan(path.read_bytes())
        if temporary or permanent:
            score.negatives_with_facts.append(f"negatives/{path.name}")
    for row in rows:
        if row.file not in cache:
            cache[row.file] = scan((CORPUS / row.file).read_bytes())
        temporary, permanent = cache[row.file]
        address = row.recipient.casefold()
        if not row.placeholder:
            score.scorable += 1
            score.found += address in temporary | permanent
        hard = address in permanent
        truth = hard if row.hard_alternative is hard else row.hard
        score.true_hard += truth
        score.predicted_hard += hard
        score.hard_hit += truth and hard
    return score


def throughput(seconds: float = 2.0, read: Callable[[bytes], object] | None = None) -> float:
    """Messages per CPU second through ``read`` (``read_message``) over the corpus, in this one process.

    CPU time, not wall time: on a shared machine other processes' load would otherwise be counted.
    """
    blobs = [p.read_bytes() for p in sorted((CORPUS / "emails").glob("*.eml"))]
    read = read or _read_quietly
    done, began = 0, time.process_time()
    while time.process_time() - began < seconds:
        for blob in blobs:
            read(blob)
        done += len(blobs)
    return done / (time.process_time() - began)


def _read_quietly(raw: bytes) -> object:
    try:
        return read_message(raw)
    except UnparseableMessage:
        return None


def reason_table(score: Score) -> str:
    labels = sorted(
        {label for label, _ in score.reasons}, key=lambda r: (-sum(score.reasons[(r, ok)] for ok in (True, False)), r)
    )
    lines = ["| Reason (label) | Rows | Agree | % |", "|---|---:|---:|---:|"]
    for label in labels:
        ok, bad = score.reasons[(label, True)], score.reasons[(label, False)]
        lines.append(f"| {label} | {ok + bad} | {ok} | {100 * ok / (ok + bad):.0f} |")
    return "\n".join(lines)
