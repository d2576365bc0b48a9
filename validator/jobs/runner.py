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
import secrets
import socket
import time
from collections.abc import Callable, Coroutine
from typing import Any

from validator.config import Settings
from validator.errors import StoreUnavailable
from validator.jobs.answer import BulkChecker, GreylistRetry, Render, SlicePacer, answer_rows
from validator.jobs.model import ChunkClaim, Job, JobStatus
from validator.priority import RealtimeGate
from validator.store.job_store import JobStore

log = logging.getLogger("validator.jobs.runner")

OnFinished = Callable[[Job], Coroutine[Any, Any, None]]
NOTE_SECONDS = 1.0  # a worked chunk's answered rows are written at most this often (job progress between chunks)
CALLBACK_GRACE = 60.0  # seconds after completion before another runner sends a callback its own never did


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
