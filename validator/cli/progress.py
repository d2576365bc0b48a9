"""What a list run shows on standard error: the progress line while rows are answered, then a
summary of statuses and reasons. Shared by ``batch`` (checked here) and ``jobs submit --wait``
(checked by a remote service), so both look alike.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from typing import IO, TYPE_CHECKING

from validator.cli.render import render_table
from validator.jobs.model import Counts

if TYPE_CHECKING:  # the runner itself is loaded only by the command that answers rows here
    from validator.jobs.answer import Answered


class Progress:
    """``[#####.....] 50%  500,000/1,000,000 rows  12,345 rows/s  ETA 0:40`` on standard error:
    redrawn in place on a terminal, a line every few seconds otherwise (logs, CI). The first
    advance draws at once; the rate and ETA appear only once rows have been answered."""

    def __init__(self, total: int | None, out: IO[str] = sys.stderr) -> None:
        self.total, self.done, self._out = total, 0, out
        self._began = time.monotonic()
        self._shown: float | None = None
        self._tty = out.isatty()

    def advance(self, rows: int, final: bool = False) -> None:
        self.done += rows
        now = time.monotonic()
        if final or self._shown is None or now - self._shown >= (0.2 if self._tty else 5.0):
            self._shown = now
            self._out.write(("\r" if self._tty else "") + self.line(now) + ("" if self._tty and not final else "\n"))
            self._out.flush()

    def line(self, now: float) -> str:
        elapsed = now - self._began
        rate = f"  {self.done / elapsed:,.0f} rows/s" if self.done and elapsed > 0 else ""
        if not self.total:
            return f"{self.done:,} rows{rate}"
        share = min(self.done / self.total, 1.0)
        bar = "#" * int(share * 20) + "." * (20 - int(share * 20))
        eta = ""
        if rate and self.done < self.total:
            left = (self.total - self.done) * elapsed / self.done
            eta = f"  ETA {int(left // 60)}:{int(left % 60):02d}"
        return f"[{bar}] {share:4.0%}  {self.done:,}/{self.total:,} rows{rate}{eta}"


def progress_advance(progress: Progress) -> Answered:
    """``answer_rows``' ``answered``: the progress line moves per slice."""

    async def advance(rows: int) -> None:
        progress.advance(rows)

    return advance


def summary_table(counts: Counts, total: int) -> str:
    """Rows per status, then per reason, most frequent first, each with its share of ``total``."""
    rows = [("STATUS", "ROWS", "SHARE"), *_shares(counts.statuses, total)]
    rows += [("REASON", "ROWS", "SHARE"), *_shares(counts.reasons, total)]
    return render_table(rows, right={1, 2})


def _shares(counted: Mapping[str, int], total: int) -> list[tuple[str, str, str]]:
    return [(k, f"{n:,}", f"{n / max(total, 1):.1%}") for k, n in sorted(counted.items(), key=lambda i: -i[1])]
