"""Tables of benchmark results, rendered as aligned text for a terminal or as markdown for docs/benchmarks.md.

Every benchmark hands back an ``Outcome``: its detail tables and the rows it adds to the final
summary. Nothing here measures anything; formatting helpers live here so every table agrees.
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

SUMMARY_HEADERS = ["Benchmark", "Ours", "Reference", "Ours / reference", "Goal", "Met"]


@dataclass
class Table:
    title: str
    headers: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def text(self) -> str:
        widths = [max(len(str(row[i])) for row in [self.headers, *self.rows]) for i in range(len(self.headers))]
        lines = [self.title, "=" * len(self.title)]
        lines.append("  ".join(h.ljust(w) for h, w in zip(self.headers, widths, strict=False)).rstrip())
        lines.append("  ".join("-" * w for w in widths))
        lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=False)).rstrip() for row in self.rows]
        lines += [f"  * {note}" for note in self.notes]
        return "\n".join(lines) + "\n"

    def markdown(self) -> str:
        lines = [f"**{self.title}**", "", "| " + " | ".join(self.headers) + " |"]
        lines.append("|" + "|".join("---" for _ in self.headers) + "|")
        lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in self.rows]
        if self.notes:
            lines.append("")
            lines += [f"* {note}" for note in self.notes]
        return "\n".join(lines) + "\n"


@dataclass
class Outcome:
    """What one benchmark reports: detail tables, and rows (``SUMMARY_HEADERS``) for the summary."""

    details: list[Table] = field(default_factory=list)
    summary: list[list[str]] = field(default_factory=list)


def print_tables(tables: list[Table], markdown: bool) -> None:
    """The tables on stdout, as markdown or as aligned text, each followed by a blank line."""
    for table in tables:
        sys.stdout.write((table.markdown() if markdown else table.text()) + "\n")
    sys.stdout.flush()


def progress(message: str) -> None:
    """Progress goes to stderr, so stdout holds only the tables (``--markdown > bench.md``)."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def met(ok: bool | None) -> str:
    return "-" if ok is None else ("yes" if ok else "NO")


def rate(per_second: float) -> str:
    return f"{per_second:,.0f}/s"


def ms(seconds_or_ms: float) -> str:
    return f"{seconds_or_ms:.2f} ms"


def percent(ratio: float) -> str:
    return f"{ratio * 100:.0f}%"


def times(ratio: float) -> str:
    return f"{ratio:.2f}x"
