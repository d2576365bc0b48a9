"""``python -m bench.syntax_corpus [--cases] [--disagreeing] [--timing]``: the syntax policy against the shared corpus.

Prints markdown tables of agreement with each source's own verdicts (per source, then per
source and category) and why we disagree; the judging lives in
``tests/corpus/syntax_agreement.py`` so the corpus test and these tables cannot drift.
``--cases`` lists every disagreement; ``--timing`` adds per-call timings of the fast path,
the slow path and a bare ``validate_email`` call. Run from the project root.
"""

from __future__ import annotations

import argparse
import random
import string
import sys
import timeit
from collections.abc import Callable

from email_validator import validate_email

from tests.corpus.syntax_agreement import agreement_table, judge_all, load_cases
from validator import syntax
from validator.model import InvalidAddress


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.syntax_corpus", description=__doc__.split("\n")[0])
    parser.add_argument("--cases", action="store_true", help="list every disagreeing case")
    parser.add_argument("--disagreeing", action="store_true", help="per-category table: only categories we disagree on")
    parser.add_argument("--timing", action="store_true", help="also time one call of each path")
    args, _ = parser.parse_known_args(argv)  # `python -m bench syntax` may pass its own options on
    judgements = judge_all(load_cases())
    agree = sum(j.agrees for j in judgements)
    print(f"## Syntax corpus: {agree}/{len(judgements)} cases agree ({100 * agree / len(judgements):.1f}%)\n")
    print(agreement_table(judgements), end="\n\n")
    print(f"### Per source and category{' (only where we disagree)' if args.disagreeing else ''}\n")
    print(agreement_table(judgements, by_category=True, only_disagreeing=args.disagreeing), end="\n\n")
    if args.cases:
        print("### Disagreements\n\n| Source | Category | Address | Expected | Ours | Why |\n|---|---|---|---|---|---|")
        for j in judgements:
            if not j.agrees:
                ours = j.result.problem if isinstance(j.result, InvalidAddress) else "valid"
                expected = "valid" if j.case.expect_valid else "invalid"
                cells = (j.case.source, j.case.category, repr(j.case.address), expected, str(ours), str(j.explanation))
                print("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        print()
    if args.timing:
        print_timings()
    return 0


def print_timings(calls: int = 200_000) -> None:
    """Microseconds per call; the fast path sees varied local parts at one already-seen domain."""
    rng = random.Random(5321)
    alphabet = string.ascii_letters + string.digits + "._+-"
    locals_ = [
        ("".join(rng.choices(alphabet, k=rng.randint(4, 24))).strip(".").replace("..", ".") or "x")
        for _ in range(calls)
    ]
    addresses = [f"{local}@example.com" for local in locals_]
    slow_calls = calls // 40

    def per_call(function: Callable[[str], object], inputs: list[str]) -> float:
        items, number = iter(inputs), len(inputs) // 5
        return min(timeit.repeat(lambda: function(next(items)), number=number, repeat=5)) / number * 1e6

    syntax.parse_address(addresses[0])  # the domain is "seen"
    rows = [
        ("parse_address, fast path (seen domain)", per_call(syntax.parse_address, addresses)),
        (
            "parse_address, fast path, new plain host name each call (judged by pattern)",
            per_call(syntax.parse_address, [f"a@d{i}.example.org" for i in range(calls)]),
        ),
        (
            "parse_address, fast path, memo miss (new A-label domain each call)",
            per_call(syntax.parse_address, [f"a@d{i}.xn--bcher-kva.de" for i in range(slow_calls)]),
        ),
        (
            "parse_address, slow path (non-ASCII local part)",
            per_call(syntax.parse_address, [f"{local}é@example.com" for local in locals_[:slow_calls]]),
        ),
        (
            "_parse_slow on the same ASCII addresses",
            per_call(
                lambda a: syntax._parse_slow(a, allow_smtputf8=True, allow_reserved=False), addresses[:slow_calls]
            ),
        ),
        (
            "email_validator.validate_email(check_deliverability=False)",
            per_call(lambda a: validate_email(a, check_deliverability=False), addresses[:slow_calls]),
        ),
    ]
    print(f"### Per-call timings (Python {sys.version.split()[0]}, best of 5)\n\n| Call | µs per call |\n|---|---:|")
    for name, micros in rows:
        print(f"| {name} | {micros:.2f} |")
    print()


if __name__ == "__main__":
    raise SystemExit(main())
