"""What the commands print: the one table renderer, JSON on standard output, an error as
``validator: <message>`` on standard error, and a store URL fit to show.

Every table (``check``'s verdicts, ``keys list``, the summary after ``batch`` and
``jobs submit --wait``, ``report``) goes through ``render_table``, so all share one layout:
columns two spaces apart, each as wide as its widest cell, headers included, and no trailing
spaces. Building the rows is each command's business; the layout is decided only here.
"""

from __future__ import annotations

import sys
from collections.abc import Collection, Sequence
from urllib.parse import urlsplit

import orjson

from validator.errors import ValidatorError

COLUMN_GAP = "  "


def render_table(rows: Sequence[Sequence[str]], right: Collection[int] = ()) -> str:
    """The rows as aligned lines; the columns numbered in ``right`` (counts, shares) are right-aligned."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:  # every row has a cell per column: strict
        cells = (
            cell.rjust(w) if i in right else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        lines.append(COLUMN_GAP.join(cells).rstrip() + "\n")
    return "".join(lines)


def print_json(data: object) -> None:
    """One document, indented for a reader (``jobs``, ``suppress show``)."""
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")


def print_json_line(data: object) -> None:
    """One record per line (NDJSON), the API's shape, for a pipe (``check --json``, ``ingest --json``)."""
    sys.stdout.write(orjson.dumps(data).decode() + "\n")


def print_error(exc: ValidatorError) -> None:
    """``validator: <message> (<field>)``, a line each where the message has several (every bad setting)."""
    where = f" ({exc.field})" if exc.field and exc.field not in exc.message else ""
    for line in f"{exc.message}{where}".splitlines():
        print(f"validator: {line}", file=sys.stderr)


def shown_url(url: str) -> str:
    """A store URL fit for a log: its password replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)).geturl()
