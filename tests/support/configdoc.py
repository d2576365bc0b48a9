"""The generated settings tables of docs/configuration.md and README.md, kept equal to ``Settings``.

``validator/config/`` describes every ``VALIDATOR_*`` variable once, in its ``Settings`` fields;
``config_table()`` renders them as one markdown table. This module puts that table between the
markers of docs/configuration.md, and the rows of the few settings README.md lists between its own
markers (the README chooses which variables; each row is the generated one). The docs tests
compare both documents with what this renders; to regenerate after changing ``Settings``:

    .venv/bin/python tests/support/configdoc.py

Pure apart from ``main``: text in, text out.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from validator.config import config_table

ROOT = Path(__file__).parents[2]
CONFIGURATION = ROOT / "docs" / "configuration.md"
README = ROOT / "README.md"
START, END = "<!-- CONFIG-TABLE:START -->\n", "<!-- CONFIG-TABLE:END -->"
_VARIABLE = re.compile(r"^\| `(VALIDATOR_[A-Z0-9_]+)` \|")


class MarkersMissing(ValueError):
    """A document lost the markers between which its generated table lives."""


def _split(text: str, document: str) -> tuple[str, str, str]:
    if text.count(START) != 1 or text.count(END) != 1 or text.index(START) > text.index(END):
        raise MarkersMissing(f"{document}: needs exactly one {START.strip()} ... {END} pair")
    before, rest = text.split(START)
    block, after = rest.split(END)
    return before, block, after


def table_rows() -> dict[str, str]:
    """Every generated row, by variable name, in ``Settings`` order."""
    rows = config_table().splitlines()[2:]
    return {m.group(1): row for row in rows if (m := _VARIABLE.match(row))}


def render_configuration(text: str) -> str:
    """docs/configuration.md with the complete generated table between its markers."""
    before, _, after = _split(text, "docs/configuration.md")
    table = config_table().replace("](docs/", "](")  # the descriptions link from the repository's root
    return before + START + table + END + after


def render_readme(text: str) -> str:
    """README.md with the generated row of each variable its table lists (a row per listed variable,
    in the README's order); a variable ``Settings`` no longer has is dropped."""
    before, block, after = _split(text, "README.md")
    lines = block.splitlines()
    header, rows = lines[:2], lines[2:]
    generated = table_rows()
    chosen = [m.group(1) for row in rows if (m := _VARIABLE.match(row))]
    kept = [generated[name] for name in chosen if name in generated]
    return before + START + "\n".join(header + kept) + "\n" + END + after


def readme_variables(text: str) -> list[str]:
    """The variables README's settings table lists, in its order."""
    _, block, _ = _split(text, "README.md")
    return [m.group(1) for row in block.splitlines() if (m := _VARIABLE.match(row))]


def main() -> int:
    changed = []
    for path, render in ((CONFIGURATION, render_configuration), (README, render_readme)):
        text = path.read_text()
        new = render(text)
        if new != text:
            path.write_text(new)
            changed.append(path.relative_to(ROOT))
    print("updated: " + ", ".join(map(str, changed)) if changed else "already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
