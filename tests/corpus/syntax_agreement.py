"""Judge the syntax policy against the shared corpus of other validators' test cases.

Shared by ``tests/corpus/test_syntax_corpus.py`` (floors and explanations) and
``bench/syntax_corpus.py`` (the agreement tables). It reads ``tests/data/syntax``
at run time; no corpus verdict is copied into code. Must not live here: the policy itself
(``validator/syntax.py``).

A disagreement is *explained* when one of these holds, tried in this order:

* ``options``: the source asserts the verdict only under options we have no equivalent of
  (display names allowed, host allow-lists, quoted local parts allowed, ...);
* ``policy:<problem>``: we refused it under a named pre-send rule (quoted local part, IP
  literal, dotless or reserved domain, a length limit, SMTPUTF8 off, a control character);
* ``trimmed``: we accepted it after trimming the surrounding whitespace that the source,
  reading RFC 5322 folding whitespace, counts as part of the address;
* ``authority``: email-validator, our authority, gives our verdict with its default options
  (the source follows RFC 5322 comments and obsolete forms, a TLD list or DNS instead).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from email_validator import EmailNotValidError, validate_email

from tests.support.testdata import SYNTAX as CORPUS_DIR
from validator.model import Address, InvalidAddress, SyntaxProblem
from validator.syntax import parse_address

# A refusal under one of these names a pre-send rule; INVALID and EMPTY only echo the parse.
POLICY_PROBLEMS = frozenset(SyntaxProblem) - {SyntaxProblem.INVALID, SyntaxProblem.EMPTY}
# Source options with an equivalent here, as (name, value) -> our keyword arguments. A case
# whose options are all listed is judged under them; any other option leaves it "options".
_OPTION_EQUIVALENTS: dict[tuple[str, str], dict[str, bool]] = {
    ("allow_smtputf8", "false"): {"allow_smtputf8": False},  # python-email-validator
    ("allow_smtputf8", "true"): {},
    ("allow_utf8_local_part", "false"): {"allow_smtputf8": False},  # validator.js
    ("test_environment", "true"): {"allow_reserved": True},  # ours also admits .localhost etc.
    ("check_deliverability", "false"): {},  # the syntax step never looks at DNS
    ("strict", "true"): {},  # the 64-octet local-part limit always applies here
    ("ignore_max_length", "false"): {},  # and so do the length limits
}
_OPTIONS = re.compile(r"\[opts: (.*)\]")


@dataclass(frozen=True, slots=True)
class Case:
    """One labelled line of the corpus."""

    address: str
    expect_valid: bool
    category: str
    source: str  # the repository, e.g. "hapijs/isemail"


@dataclass(frozen=True, slots=True)
class Judgement:
    """Our verdict on one case, and why it differs from the source's when it does."""

    case: Case
    options: dict[str, bool] | None  # None: the source's options have no equivalent here
    result: Address | InvalidAddress
    explanation: str | None  # None when we agree, or when nothing explains the disagreement

    @property
    def agrees(self) -> bool:
        return isinstance(self.result, Address) == self.case.expect_valid


def load_cases(directory: Path = CORPUS_DIR) -> list[Case]:
    """Every case of every ``*.jsonl`` file; a missing corpus is an error, never a skip."""
    files = sorted(directory.glob("*.jsonl"))
    if not files:
        raise FileNotFoundError(f"syntax corpus not found: no *.jsonl in {directory} (see tests/data/SOURCES.md)")
    cases = []
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                cases.append(Case(row["address"], row["expect"] == "valid", row["category"], row["source"].split()[0]))
    return cases


def our_options(category: str) -> dict[str, bool] | None:
    """Our keyword arguments equivalent to the options a category names, or None if any has none."""
    found = _OPTIONS.search(category)
    if found is None:
        return {}
    text = found[1]
    if text.startswith("{"):
        pairs = [(name, json.dumps(value)) for name, value in json.loads(text).items()]
    else:
        pairs = [tuple(part.strip().lower() for part in item.split("=", 1)) for item in text.split(",")]
    options: dict[str, bool] = {}
    for name, value in pairs:
        equivalent = _OPTION_EQUIVALENTS.get((name, value.lower()))
        if equivalent is None:
            return None
        options.update(equivalent)
    return options


def judge(case: Case) -> Judgement:
    options = our_options(case.category)
    result = parse_address(case.address, **(options or {}))
    agrees = isinstance(result, Address) == case.expect_valid
    return Judgement(case, options, result, None if agrees else _explain(case, options, result))


def judge_all(cases: Iterable[Case]) -> list[Judgement]:
    return [judge(case) for case in cases]


def _explain(case: Case, options: dict[str, bool] | None, result: Address | InvalidAddress) -> str | None:
    if options is None:
        return "options"
    if isinstance(result, InvalidAddress) and result.problem in POLICY_PROBLEMS:
        return f"policy:{result.problem}"
    if isinstance(result, Address) and case.address != case.address.strip(" \t\r\n"):
        return "trimmed"
    if _authority_accepts(case.address) == isinstance(result, Address):
        return "authority"
    return None


def _authority_accepts(address: str) -> bool:
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def agreement_table(judgements: list[Judgement], *, by_category: bool = False, only_disagreeing: bool = False) -> str:
    """Markdown: cases, agreement and why we disagree, per source or per source and category."""
    groups: dict[tuple[str, ...], list[Judgement]] = {}
    for j in judgements:
        groups.setdefault((j.case.source, j.case.category) if by_category else (j.case.source,), []).append(j)
    if by_category:
        lines = ["| Source | Category | Cases | Agree | % | Why we disagree |", "|---|---|---:|---:|---:|---|"]
    else:
        lines = [
            "| Source | Cases | Agree | % | Why we disagree | Main disagreeing categories |",
            "|---|---:|---:|---:|---|---|",
        ]
    for key, group in groups.items():
        agree = sum(j.agrees for j in group)
        if only_disagreeing and agree == len(group):
            continue
        why = _top(Counter(j.explanation or "UNEXPLAINED" for j in group if not j.agrees))
        cells = [*(k.replace("|", "\\|") for k in key), str(len(group)), str(agree)]
        cells += [f"{100 * agree / len(group):.1f}", why]
        if not by_category:
            cells.append(_top(Counter(j.case.category for j in group if not j.agrees), 3))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _top(counts: Counter[str], limit: int = 6) -> str:
    return ", ".join(f"{name.replace('|', '/')} ({n})" for name, n in counts.most_common(limit))
