"""Answering a list of rows in slices: the part of a bulk job that the service's runner and the
CLI's ``batch`` share (``answer_rows``).

A chunk's domains are resolved at once, ahead of its slices (``_resolve_ahead``), in the
resolver's bulk lane; slices of about ``job_slice_ms`` of CPU (``SlicePacer``) are then checked
with ``pause()`` awaited between them, so real-time validations run in between. A slice's
verdicts are rendered at once and dropped. Greylisted rows are asked again after a delay.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from validator.jobs.model import ChunkAnswer, Counts, InputRow
from validator.model import InvalidAddress, MxAnswer, Reason, SyntaxProblem, Verdict
from validator.verdict import decide

DUPLICATE = "duplicate"  # the status counted for a row answered by reference to an earlier one (dedupe)

Render = Callable[[InputRow, Verdict | None], bytes]  # one NDJSON line; None: a duplicate row
Pause = Callable[[], Awaitable[None]]
Answered = Callable[[int], Awaitable[None]]  # told how many rows a slice answered (progress)


async def _yield() -> None:
    await asyncio.sleep(0)


class BulkChecker(Protocol):
    """What the runner needs from ``Checker``."""

    async def check_many(
        self,
        emails: Sequence[str],
        timeout_ms: int | None = None,
        smtp: bool = False,
        bulk: bool = False,
        known: Mapping[str, MxAnswer] | None = None,
    ) -> list[Verdict]: ...

    async def resolve_domains(
        self, domains: Iterable[str], timeout_ms: int | None = None, bulk: bool = False
    ) -> dict[str, MxAnswer]: ...


@dataclass(frozen=True, slots=True)
class GreylistRetry:
    """Ask greylisted rows again ``times`` times, ``delay`` seconds apart."""

    delay: float
    times: int


def refused_verdict(row: InputRow) -> Verdict:
    """The answer to a row that could not be read (not UTF-8, not a string): ``invalid_syntax``."""
    syntax = InvalidAddress(SyntaxProblem.INVALID, row.error or "unreadable row")
    decision = decide(syntax, None, None, {})
    return Verdict(row.email, None, decision.status, decision.action, decision.reasons, None, syntax)


def _domain(row: InputRow) -> str:
    return row.email.rpartition("@")[2].strip().lower()


# A host name as the checker would query it (RFC 1035 §2.3.1 labels, ASCII): only such domains are
# resolved ahead; anything else (IDN, literal, garbage) is left to the checker, which parses first.
_HOST_NAME = re.compile(r"(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")


async def _resolve_ahead(checker: BulkChecker, domains: Iterable[str], timeout_ms: int) -> dict[str, MxAnswer]:
    """The MX answers of a chunk's domains, all asked at once in the resolver's bulk lane.

    Asked slice by slice instead, a slice's few domains waited out the DNS budget before the
    next slice began: with a resolver that never answers (``python -m bench silentdns``), 500
    rows took 251 s against ``validator batch``'s 6.1 s; asked ahead, 2,000 rows take 6.1 s
    against 5.9 s (docs/operations.md). Real-time lookups keep their
    precedence: the bulk lane holds at most ``job_dns_max_inflight`` queries and hands a freed
    slot to a waiting real-time lookup first (``PrioritySlots``)."""
    plain = [d for d in dict.fromkeys(domains) if _HOST_NAME.fullmatch(d)]
    return await checker.resolve_domains(plain, timeout_ms, bulk=True) if plain else {}


class SlicePacer:
    """How many rows the next slice checks, so that one slice costs about ``seconds`` of CPU.

    The cost of a row is learnt from the slices before (CPU time of this thread over the
    slice, divided by its rows: an upper bound, since it also counts what other tasks ran
    meanwhile). Without ``seconds`` every slice holds ``most`` rows (the CLI: no one waits).
    """

    def __init__(self, most: int, seconds: float | None) -> None:
        self.most, self.seconds = most, seconds
        self.size = most if seconds is None else 1  # the first slice measures; the runner keeps its pacer
        self._began = 0.0

    def start(self) -> None:
        self._began = time.thread_time()

    def learn(self, rows: int) -> None:
        if self.seconds is None or not rows:
            return
        per_row = max((time.thread_time() - self._began) / rows, 1e-7)
        self.size = max(1, min(self.most, int(self.seconds / per_row)))

    def due(self) -> bool:
        """Whether the loop time since ``start`` has used the slice (rendering, which never awaits)."""
        return self.seconds is not None and time.thread_time() - self._began >= self.seconds


async def answer_rows(
    checker: BulkChecker,
    rows: Sequence[InputRow],
    render: Render,
    *,
    slice_size: int,
    timeout_ms: int,
    pause: Pause = _yield,
    smtp: bool = False,
    greylist: GreylistRetry | None = None,
    pacer: SlicePacer | None = None,
    answered: Answered | None = None,
) -> ChunkAnswer:
    """Answer ``rows`` (lines in input order), checking at most ``slice_size`` rows at a time and
    awaiting ``pause()`` between slices; a ``pacer`` with seconds shrinks slices to about that
    much CPU each. With ``smtp`` and ``greylist``, greylisted rows are asked again. ``answered``
    hears each slice's size, for progress that moves per slice.

    A slice's verdicts are rendered as soon as they come and then dropped: a chunk keeps bytes,
    not a thousand verdict objects that would outlive two collections of the garbage collector
    and make its full collections (tens of milliseconds on the loop) frequent."""
    pacer = pacer or SlicePacer(slice_size, None)
    lines: dict[int, bytes] = {}
    statuses: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    retries = greylist.times if smtp and greylist else 0
    todo = sorted(
        (i for i, r in enumerate(rows) if r.error is None and r.duplicate_of is None), key=lambda i: _domain(rows[i])
    )
    known = await _resolve_ahead(checker, (_domain(rows[i]) for i in todo), timeout_ms)
    await pause()
    for attempt in range(1 + retries):
        if attempt:
            await asyncio.sleep(greylist.delay)  # type: ignore[union-attr]
        again: list[int] = []
        for part in _slices(todo, pacer):
            pacer.start()
            verdicts = await checker.check_many(
                [rows[i].email for i in part], timeout_ms, smtp=smtp, bulk=True, known=known
            )
            for i, verdict in zip(part, verdicts, strict=True):
                lines[i] = render(rows[i], verdict)
                if attempt < retries and Reason.GREYLISTED in verdict.reasons:
                    again.append(i)  # counted when it is answered for the last time
                else:
                    statuses[verdict.status.value] += 1
                    reasons.update(reason.value for reason in verdict.reasons)
            pacer.learn(len(part))
            if answered is not None:
                await answered(len(part))
            await pause()  # real-time requests run between slices
        todo = again
        if not todo:
            break
    pacer.start()
    for i, row in enumerate(rows):  # rows not checked: unreadable ones and duplicates
        if i in lines:
            continue
        refused = refused_verdict(row) if row.error is not None else None
        if refused is None:  # a duplicate, answered by reference to its first row
            statuses[DUPLICATE] += 1
        else:
            statuses[refused.status.value] += 1
            reasons.update(reason.value for reason in refused.reasons)
        lines[i] = render(row, refused)
        if pacer.due():
            await pause()
            pacer.start()
    return ChunkAnswer(tuple(lines[i] for i in range(len(rows))), Counts(dict(statuses), dict(reasons)))


def _slices(todo: list[int], pacer: SlicePacer) -> Iterator[list[int]]:
    """Consecutive parts of ``todo``, each as long as the pacer says when it is taken."""
    start = 0
    while start < len(todo):
        part = todo[start : start + pacer.size]
        yield part
        start += len(part)
