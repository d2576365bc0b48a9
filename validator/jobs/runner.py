"""Bulk jobs worked in the background: claim a chunk, check its rows, store the answers.

Orchestration only (async, no aiohttp): the store (``JobStore``), the checker and the way a
row is written (``render``, the API's NDJSON line) are injected, so the service's runner and
the CLI's ``batch`` share ``answer_rows``.

Why this shape:

- **Real-time requests keep priority.** A process works at most ``job_workers`` chunks at once
  and checks a chunk in slices of about ``job_slice_ms`` of CPU (``SlicePacer`` learns the cost
  of a row; at most ``job_slice`` rows); between slices it waits while real-time validations
  are in flight (``RealtimeGate``, at most ``REALTIME_WAIT_MAX`` per slice, so a busy service
  still moves its jobs). A slice's verdicts are rendered at once and dropped, so a validation
  waits for at most one slice of CPU, and the garbage collector finds few old objects.
- **A chunk's domains are resolved at once, ahead of its slices** (``_resolve_ahead``), within
  ``job_timeout_ms``, in the resolver's bulk lane: at most ``job_dns_max_inflight`` queries,
  served after waiting real-time ones. Slices then spend CPU, not DNS waits, so a slow resolver
  costs a chunk one DNS budget, not one per slice. Each domain is asked once per chunk; the
  MX cache (``dns_cache_size`` domains) answers it in later chunks without a query.
- **Greylisted probes are asked again within the job.** With ``smtp``, rows answered
  ``greylisted`` are checked again after ``job_greylist_delay`` seconds, up to
  ``job_greylist_retries`` times (greylisting servers accept a retry after a few minutes), then
  reported ``greylisted`` if still deferred. The runner renews its lease meanwhile, as it does
  every third of a lease while a chunk is worked, so a long chunk is never taken twice.
- **Nothing crashes the runner.** A chunk that raises is logged and left to its lease: it is
  claimed again later, and fails its job after ``MAX_ATTEMPTS`` claims (``job_records.py``).
  A store that is down is retried after ``job_poll_seconds``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import secrets
import socket
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from validator.config import Settings
from validator.errors import StoreUnavailable
from validator.jobs.model import ChunkAnswer, ChunkClaim, Counts, InputRow, Job, JobStatus
from validator.model import InvalidAddress, MxAnswer, Reason, SyntaxProblem, Verdict
from validator.priority import RealtimeGate
from validator.store.job_store import JobStore
from validator.verdict import decide

log = logging.getLogger("validator.jobs.runner")
DUPLICATE = "duplicate"  # the status counted for a row answered by reference to an earlier one (dedupe)

Render = Callable[[InputRow, Verdict | None], bytes]  # one NDJSON line; None: a duplicate row
OnFinished = Callable[[Job], Awaitable[None]]
Pause = Callable[[], Awaitable[None]]
Answered = Callable[[int], Awaitable[None]]  # told how many rows a slice answered (progress)
NOTE_SECONDS = 1.0  # a worked chunk's answered rows are written at most this often (job progress between chunks)
CALLBACK_GRACE = 60.0  # seconds after completion before another runner sends a callback its own never did


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
            for i, verdict in zip(part, verdicts):
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
        verdict = refused_verdict(row) if row.error is not None else None
        if verdict is None:  # a duplicate, answered by reference to its first row
            statuses[DUPLICATE] += 1
        else:
            statuses[verdict.status.value] += 1
            reasons.update(reason.value for reason in verdict.reasons)
        lines[i] = render(row, verdict)
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


def runner_id() -> str:
    """Who holds a lease: host, process and a random part (a restarted process is someone new)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class JobRunner:
    """Works chunks until cancelled: ``task = asyncio.create_task(runner.run())``."""

    def __init__(
        self,
        settings: Settings,
        store: JobStore,
        checker: BulkChecker,
        render: Render,
        on_finished: OnFinished | None = None,
        owner: str | None = None,
        gate: RealtimeGate | None = None,
    ) -> None:
        self._settings, self._store, self._checker, self._render = settings, store, checker, render
        self.gate = gate or RealtimeGate()
        self._on_finished = on_finished
        self.owner = owner or runner_id()
        self._wake = asyncio.Event()
        self._notices: set[asyncio.Task[None]] = set()

    def wake(self) -> None:
        """A job was queued here: look now rather than after the poll interval."""
        self._wake.set()

    async def _keep_lease(self, claim: ChunkClaim) -> None:
        """Renew the claim every third of a lease while it is worked (SMTP probes and greylisting
        retries can take longer than one lease); a lost claim is refused at completion anyway."""
        lease = self._settings.job_lease_seconds
        while True:
            await asyncio.sleep(lease / 3)
            try:
                if not await self._store.renew_claim(claim, lease):
                    return
            except StoreUnavailable as exc:
                log.warning("job %s chunk %d: lease not renewed: %s", claim.job_id, claim.chunk_no, exc.message)

    async def run(self) -> None:
        workers = [asyncio.create_task(self._work_loop()) for _ in range(self._settings.job_workers)]
        workers.append(asyncio.create_task(self._purge_loop()))
        if self._on_finished is not None:
            self._notify(*await self._unsent_callbacks())
        try:
            await asyncio.gather(*workers)
        finally:
            for task in (*workers, *self._notices):
                task.cancel()
            await asyncio.gather(*workers, *self._notices, return_exceptions=True)
            with contextlib.suppress(StoreUnavailable):  # else the lease runs out: the same, later
                released = await self._store.release_claims(self.owner)
                if released:
                    log.info("job runner stopped: %d chunk(s) released to other runners", released)

    def _notify(self, *finished: Job) -> None:
        assert self._on_finished is not None
        for job in finished:
            task = asyncio.create_task(self._on_finished(job))
            self._notices.add(task)
            task.add_done_callback(self._notices.discard)

    async def _unsent_callbacks(self) -> list[Job]:
        """Completed jobs whose callback a dead process never sent (at least once, not exactly once:
        a receiver tells a repeat by the job id in the signed summary)."""
        try:
            return await self._store.claim_unsent_callbacks(CALLBACK_GRACE)
        except StoreUnavailable as exc:
            log.warning("job runner: unsent callbacks not looked for: %s", exc.message)
            return []

    async def _purge_loop(self) -> None:
        """Remove uploads a dead process left ``receiving`` (invisible to runners, holding their
        chunks), every tenth of the upload lease (at most every minute)."""
        lease = self._settings.job_upload_lease_seconds
        while True:
            try:
                purged = await self._store.purge_abandoned_uploads(lease)
                if purged:
                    log.warning("job runner: removed %d upload(s) still receiving after %g s", purged, lease)
            except StoreUnavailable as exc:
                log.warning("job runner: abandoned uploads not removed: %s", exc.message)
            await asyncio.sleep(min(lease / 10, 60.0))

    def new_pacer(self) -> SlicePacer:
        """Slices of ``job_slice_ms`` CPU (each worker learns its own cost per row)."""
        return SlicePacer(self._settings.job_slice, self._settings.job_slice_ms / 1000)

    async def _work_loop(self) -> None:
        pacer = self.new_pacer()
        while True:
            try:
                claim = await self._store.claim_chunk(self.owner, self._settings.job_lease_seconds)
            except StoreUnavailable as exc:
                log.warning("job runner: store unavailable, retrying: %s", exc.message)
                claim = None
            if claim is None:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._settings.job_poll_seconds)
                continue
            await self.work(claim, pacer)

    async def work(self, claim: ChunkClaim, pacer: SlicePacer | None = None) -> Job | None:
        """Answer one claimed chunk and store it; the job after it (None: not stored, or failed)."""
        settings = self._settings
        keeper = asyncio.create_task(self._keep_lease(claim))
        try:
            answer = await answer_rows(
                self._checker,
                claim.rows,
                self._render,
                slice_size=settings.job_slice,
                timeout_ms=settings.job_timeout_ms,
                pause=self.gate.pause,
                smtp=claim.options.smtp,
                greylist=GreylistRetry(settings.job_greylist_delay, settings.job_greylist_retries),
                pacer=pacer or self.new_pacer(),
                answered=_ProgressNote(self._store, claim),
            )
            job = await self._store.complete_chunk(claim, answer)
        except Exception:  # a bug or an outage must not stop the runner: the lease brings the chunk back
            log.exception("job %s chunk %d failed (attempt %d)", claim.job_id, claim.chunk_no, claim.attempt)
            return None
        finally:
            keeper.cancel()
        if job is not None and job.status is JobStatus.COMPLETED and self._on_finished is not None:
            self._notify(job)
        return job


class _ProgressNote:
    """Notes in the store how many rows of the claimed chunk are answered (at most every
    ``NOTE_SECONDS``), so that a job's ``processed`` moves per slice, not per chunk."""

    def __init__(self, store: JobStore, claim: ChunkClaim) -> None:
        self._store, self._claim = store, claim
        self._answered, self._noted = 0, -NOTE_SECONDS

    async def __call__(self, rows: int) -> None:
        self._answered = min(self._answered + rows, len(self._claim.rows))  # greylist retries ask again
        if time.monotonic() - self._noted >= NOTE_SECONDS:
            self._noted = time.monotonic()
            with contextlib.suppress(StoreUnavailable):  # only progress: the answers are stored with the chunk
                await self._store.note_answered(self._claim, self._answered)
