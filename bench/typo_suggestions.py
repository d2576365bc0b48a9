"""``python -m bench typos``: typo suggestions against a held-out list nobody tuned the rules on.

Reads ``tests/data/typo-heldout/typos.txt`` (real-world typos, ``typed expected``) and
``lookalikes.txt`` (real domains that must get no suggestion), both written before the rules
they measure, and the second round (``typos-2.txt``, ``lookalikes-2.txt``) written before the
first-letter guard (see that folder's README). Each typed domain goes through the service's own path:
``parse_address``, then
``assess_signals`` for a valid address or ``suggest_unparsed`` (checked to parse) for an
invalid one, as ``Checker`` does. Prints hits, wrong suggestions and misses, and the
look-alikes that got any suggestion. Goals: >= 85% hits, <= 5% of look-alikes suggested.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from validator.model import Address
from validator.signals.risk import assess_signals, suggest_unparsed
from validator.syntax import parse_address

HELD_OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "typo-heldout"
LOCAL = "jane"


def suggestion_for(domain: str) -> str | None:
    """The domain the service would suggest for ``jane@<domain>``, or None."""
    parsed = parse_address(f"{LOCAL}@{domain}")
    if isinstance(parsed, Address):
        suggestion = assess_signals(parsed).suggestion
    else:
        suggestion = suggest_unparsed(f"{LOCAL}@{domain}")
        if suggestion is not None and not isinstance(parse_address(suggestion), Address):
            suggestion = None
    return suggestion.rpartition("@")[2] if suggestion else None


def _lines(name: str) -> list[list[str]]:
    text = (HELD_OUT / name).read_text(encoding="utf-8")
    return [line.split() for line in text.splitlines() if line.strip() and not line.startswith("#")]


ROUNDS = (("first round", "typos.txt", "lookalikes.txt"), ("second round", "typos-2.txt", "lookalikes-2.txt"))


def score_round(title: str, typo_file: str, lookalike_file: str) -> None:
    typos = [(words[0], words[1]) for words in _lines(typo_file)]
    lookalikes = [words[0] for words in _lines(lookalike_file)]
    got = {typed: suggestion_for(typed) for typed, _ in typos}
    hits = [typed for typed, meant in typos if got[typed] == meant]
    wrong = [(typed, meant, got[typed]) for typed, meant in typos if got[typed] not in (None, meant)]
    missed = [(typed, meant) for typed, meant in typos if got[typed] is None]
    false = [(domain, s) for domain in lookalikes for s in [suggestion_for(domain)] if s is not None]
    print(f"### {title}: {typo_file}, {lookalike_file}\n")
    print("| Measure | Value | Goal |\n|---|---:|---:|")
    print(
        "| Typos given the expected suggestion | "
        f"{100 * len(hits) / len(typos):.1f}% ({len(hits)}/{len(typos)}) | ≥ 85% |"
    )
    print(f"| Typos given a wrong suggestion | {len(wrong)} | 0 |")
    print(
        f"| Look-alikes given any suggestion | {100 * len(false) / len(lookalikes):.1f}% "
        f"({len(false)}/{len(lookalikes)}) | ≤ 5% |\n"
    )
    for name, items in (
        ("Missed", [f"{t} (meant {m})" for t, m in missed]),
        ("Wrong", [f"{t} -> {g} (meant {m})" for t, m, g in wrong]),
        ("Look-alikes suggested", [f"{d} -> {s}" for d, s in false]),
    ):
        print(f"{name}: {', '.join(items) or 'none'}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench typos", description=__doc__.split("\n")[0])
    parser.parse_known_args(argv)
    print(f"## Typo suggestions on the held-out lists ({HELD_OUT.relative_to(HELD_OUT.parents[2])})\n")
    for title, typo_file, lookalike_file in ROUNDS:
        score_round(title, typo_file, lookalike_file)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
