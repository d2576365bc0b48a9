"""Per-family figures and a leave-families-out estimate for the bounce reader (part of ``python -m bench bounces``).

A *family* is the file name's MTA or provider (``lhost-postfix-03.eml`` -> ``lhost-postfix``).
Per family: recipients found, hard-bounce recall and precision, reason agreement, so that a
family carried by one rule shows.

Leave-families-out: the families are dealt into two halves (largest first, alternately). Every
text rule is a regex of alternatives (``a|b|c``); each alternative is traced over the whole
corpus, and an alternative that fired only on messages of one half's families is *specific* to
that half. Each half is then read again with its specific alternatives removed, as if those
families had never been seen, and scored against the same labels. The gap to the in-sample
figure estimates how much of the accuracy is fitted to those families' wordings.

Four rulers, all printed, so a smaller gap can never come from a changed ruler unseen:
- ``strict``: every alternative fired only by one half's families is removed, even a word any reader of the RFCs
  would write ("disabled" is RFC 3463 X.2.1's "Mailbox disabled");
- ``+ standard wording``: an alternative that matches a reply of ``tests/corpus/documented_replies.py``'s STANDARD
  kind (RFC wording under its codes, the C library's error strings) is kept: it is fitted to no family;
- ``+ vendor documentation``: also kept when it matches a reply a vendor documents (Microsoft, Trend Micro, Gmail,
  Yahoo): writable without their bounces, but knowledge of those vendors, so it flatters families they run;
- ``strict, one copy per message``: the strict ruler with a message Sisimai keeps in two versions counted once.
The trace notes an alternative only where the reader consulted it (a rule decided earlier hides later ones), so the
strict ruler leans pessimistic; the same message kept in two Sisimai versions counts twice.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from tests.corpus.bounce_agreement import CORPUS, Row, Score, read_corpus, score_ours
from tests.corpus.documented_replies import DOCUMENTED, STANDARD, VENDOR
from tests.corpus.mta_agreement import own_wording_files
from validator.bounces import classify, decisive_words, reply_parts
from validator.bounces.facts import Category
from validator.bounces.policy import categorize
from validator.bounces.readers import message
from validator.bounces.readers.message import read_message
from validator.errors import UnparseableMessage
from validator.smtp_reply import classify as reply_classify
from validator.smtp_reply import parse_reply

# The modules whose module-level regexes are text rules (parsing regexes of smtp_reply are not rules)
_RULE_MODULES = (classify, reply_classify, message)
_NOT_RULES = {
    "_LINE",
    "_ENHANCED",
    "_LEADING_ENHANCED",
    "_CODE_ANYWHERE",
    "_IN_REPLY_TO",
    "_MAIL_FIELDS",
    "_QUOTES_REPLY",
}


def family(file: str) -> str:
    """``emails/lhost-postfix-03.eml`` -> ``lhost-postfix``; ``p5-lhost-postfix-01`` joins ``lhost-postfix``."""
    stem = re.sub(r"-\d+$", "", Path(file).stem)
    return stem.removeprefix("p5-")


def family_table(rows: list[Row], facts: dict[str, Any]) -> str:
    by_family: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        by_family[family(row.file)].append(row)
    lines = [
        "| Family | Rows | Found | Hard TP | Hard FP | Hard FN | Recall | Precision | Reasons agree |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, members in sorted(by_family.items(), key=lambda item: (-len(item[1]), item[0])):
        s = score_ours(members, {r.file: facts.get(r.file) for r in members})
        false_positive, false_negative = s.predicted_hard - s.hard_hit, s.true_hard - s.hard_hit
        recall = f"{s.recall:.0f}%" if s.true_hard else "–"
        precision = f"{s.precision:.0f}%" if s.predicted_hard else "–"
        lines.append(
            f"| {name} | {len(members)} | {s.found}/{s.scorable} | {s.hard_hit} | {false_positive} | "
            f"{false_negative} | {recall} | {precision} | {s.reason_rate:.0f}% |"
        )
    return "\n".join(lines)


def halves(rows: list[Row]) -> tuple[set[str], set[str]]:
    sizes: dict[str, int] = defaultdict(int)
    for row in rows:
        sizes[family(row.file)] += 1
    ordered = sorted(sizes, key=lambda name: (-sizes[name], name))
    return set(ordered[0::2]), set(ordered[1::2])


# --- tracing which rule alternative fired on which message ---------------------------------------


def _alternatives(pattern: str) -> list[str]:
    """The top-level ``|`` alternatives of a regex source."""
    parts, depth, start, escaped, in_class = [], 0, 0, False, False
    for at, char in enumerate(pattern):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            parts.append(pattern[start:at])
            start = at + 1
    parts.append(pattern[start:])
    return parts


class _Traced:
    """Stands in for a rule regex: answers as the original, and notes which alternatives matched."""

    def __init__(self, rule: str, original: re.Pattern[str], hits: set[tuple[str, int]]) -> None:
        self.rule, self.original, self.hits = rule, original, hits
        self.parts = [re.compile(part, original.flags) for part in _alternatives(original.pattern)]

    def search(self, text: str, *args: Any) -> re.Match[str] | None:
        for index, part in enumerate(self.parts):
            if part.search(text, *args):
                self.hits.add((self.rule, index))
        return self.original.search(text, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.original, name)


def _rule_slots() -> Iterator[tuple[str, Callable[[], re.Pattern[str]], Callable[[Any], None]]]:
    """(name, get, set) for every text rule regex, including those inside the rule tables of classify and
    reply_parts."""
    for module in _RULE_MODULES:
        for name, value in list(vars(module).items()):
            if isinstance(value, re.Pattern) and name not in _NOT_RULES:
                yield (
                    f"{module.__name__}.{name}",
                    lambda m=module, n=name: getattr(m, n),
                    lambda new, m=module, n=name: setattr(m, n, new),
                )
    for module, table in ((decisive_words, "DECISIVE"), (reply_parts, "_COMMANDS")):
        for index in range(len(getattr(module, table))):

            def get(m: ModuleType = module, t: str = table, i: int = index) -> re.Pattern[str]:
                return getattr(m, t)[i][0]

            def put(new: Any, m: ModuleType = module, t: str = table, i: int = index) -> None:
                entries = list(getattr(m, t))
                entries[i] = (new, entries[i][1])
                setattr(m, t, tuple(entries))

            yield f"{module.__name__.rsplit('.', 1)[-1]}.{table}[{index}]", get, put


@contextmanager
def _patched(replace: Callable[[str, re.Pattern[str]], Any]) -> Iterator[None]:
    saved = [(put, get()) for _, get, put in _rule_slots()]
    try:
        for name, get, put in _rule_slots():
            put(replace(name, get()))
        yield
    finally:
        for put, original in saved:
            put(original)


def _read(path: Path) -> Any:
    try:
        return read_message(path.read_bytes())
    except UnparseableMessage:
        return None


def trace_rules(messages: list[tuple[Path, str]]) -> dict[tuple[str, int], set[str]]:
    """For every rule alternative, the families of the (message, family) pairs it matched."""
    fired: dict[tuple[str, int], set[str]] = defaultdict(set)
    for path, name in messages:
        hits: set[tuple[str, int]] = set()
        with _patched(lambda rule, original, hits=hits: _Traced(rule, original, hits)):
            _read(path)
        for hit in hits:
            fired[hit].add(name)
    return fired


def own_mta_messages() -> list[tuple[Path, str]]:
    """The real-MTA corpus's messages worded by the MTA itself, each in a family of neither half (``own-postfix``)."""
    return [(path, "own-" + path.name.split("-", 1)[0]) for path in own_wording_files()]


def _without(drop: set[tuple[str, int]]) -> Callable[[str, re.Pattern[str]], re.Pattern[str]]:
    def replace(name: str, original: re.Pattern[str]) -> re.Pattern[str]:
        parts = _alternatives(original.pattern)
        kept = [part for index, part in enumerate(parts) if (name, index) not in drop]
        if len(kept) == len(parts):
            return original
        return re.compile("|".join(kept) if kept else r"(?!x)x", original.flags)

    return replace


# (ruler, the kinds of documented replies whose matching alternatives are kept); see the module docstring
# A last line scores the strict ruler with each message once: Sisimai keeps a few messages in two versions
# (``p5-lhost-postfix-30`` beside ``lhost-postfix-30``), which weighs one reply twice.
# A second strict line also traces the real-MTA corpus's own wordings (tests/data/mta-dsn): an alternative a real
# Postfix, Exim, OpenSMTPD, Sendmail or Courier run here made fire is evidenced outside both halves, so it is
# specific to neither.
RULERS = (
    ("strict", frozenset[str](), False, False),
    ("strict + our own MTAs' wording", frozenset[str](), False, True),
    ("+ standard wording", frozenset({STANDARD}), False, False),
    ("+ vendor documentation", frozenset({STANDARD, VENDOR}), False, False),
    ("strict, one copy per message", frozenset[str](), True, False),
)


def documented_alternatives(kinds: frozenset[str]) -> set[tuple[str, int]]:
    """The rule alternatives that match a documented reply of these kinds (its whole text, or its words alone)."""
    texts = [
        t for d in DOCUMENTED if d.kind in kinds for t in (d.reply.casefold(), parse_reply(d.reply).text.casefold())
    ]
    found = set()
    for name, get, _ in _rule_slots():
        for index, part in enumerate(_alternatives(get().pattern)):
            alternative = re.compile(part, get().flags)
            if any(alternative.search(text) for text in texts):
                found.add((name, index))
    return found


def leave_families_out(rows: list[Row]) -> str:
    """The table per half and ruler, then every row whose hard flag changes when its families are held out."""
    fired = trace_rules([(CORPUS / file, family(file)) for file in sorted({row.file for row in rows})])
    fired_outside = trace_rules(own_mta_messages())
    first, second = halves(rows)
    inside_facts = read_corpus()
    lines = [
        "| Half | Ruler | Families | Rows | Specific rule alternatives removed | Hard-flag accuracy in / out | "
        "Recall in / out | Precision in / out |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    flips: dict[str, list[str]] = {ruler: [] for ruler, _, once, _ in RULERS if not once}
    names = {row.file for row in rows}
    for ruler, kinds, once, outside in RULERS:
        kept = documented_alternatives(kinds) | (set(fired_outside) if outside else set())
        for label, families in (("A", first), ("B", second)):
            members = [row for row in rows if family(row.file) in families and not (once and _copy(row.file, names))]
            specific = {rule for rule, seen in fired.items() if seen <= families and rule not in kept}
            inside = score_ours(members, inside_facts)
            with _patched(_without(specific)):
                outside_facts = {row.file: _read(CORPUS / row.file) for row in members}
            outside = score_ours(members, outside_facts)
            lines.append(
                f"| {label} | {ruler} | {len(families)} | {len(members)} | {len(specific)} | "
                f"{accuracy(inside):.1f}% / {accuracy(outside):.1f}% | {inside.recall:.1f}% / {outside.recall:.1f}% | "
                f"{inside.precision:.1f}% / {outside.precision:.1f}% |"
            )
            if ruler in flips:
                flips[ruler] += [f"{label}: {flip}" for flip in _flips(members, inside_facts, outside_facts)]
    for ruler, found in flips.items():
        lines += ["", f"Rows whose hard flag changes when their families are held out, {ruler} ({len(found)}):", ""]
        lines += [f"- {flip}" for flip in found]
    return "\n".join(lines)


def _copy(file: str, names: set[str]) -> bool:
    """``emails/p5-x.eml`` is a copy when ``emails/x.eml`` is in the corpus too."""
    path = Path(file)
    return path.name.startswith("p5-") and str(path.with_name(path.name.removeprefix("p5-"))) in names


def _flips(rows: list[Row], inside: dict[str, Any], outside: dict[str, Any]) -> list[str]:
    """ "file (label): reason in -> reason out: the reply" for each row whose hard flag differs in and out."""
    found = []
    for row in rows:
        mine = [_of(row, inside), _of(row, outside)]
        hard = [any(categorize(f) is Category.HARD_INVALID for f in facts) for facts in mine]
        if hard[0] != hard[1]:
            reasons = [",".join(sorted(str(f.reason) for f in facts)) or "nothing" for facts in mine]
            words = " ".join((mine[0][0].diagnostic or "").split()) if mine[0] else ""
            words = words if len(words) <= 110 else "…" + words[-110:]  # the end of a reply says why
            found.append(f"{row.file} (label {row.reason}): {reasons[0]} -> {reasons[1]}: {words}")
    return found


def _of(row: Row, facts: dict[str, Any]) -> list[Any]:
    return [f for f in facts.get(row.file) or [] if f.recipient.casefold() == row.recipient.casefold()]


def accuracy(score: Score) -> float:
    """Rows whose hard flag agrees with the label (true hard and true soft alike)."""
    wrong = (score.predicted_hard - score.hard_hit) + (score.true_hard - score.hard_hit)
    return 100 * (score.rows - wrong) / score.rows if score.rows else 0.0
