"""``JobStore``: what bulk jobs need from the store, one of the roles of ``Store`` (``protocols.py``).

Both backends implement it in their own module (``sqlite/jobs.py``, ``postgres/jobs.py``) as
one of the classes their store is composed of; the shared decisions live in ``job_records.py``.

Contract (``tests/integration/test_job_store.py`` holds both backends to it):

- A job is created ``receiving``; its chunks are added as the upload streams in; ``open_job``
  makes it ``queued`` (or ``completed`` at once with no rows). A ``receiving`` job is never
  claimed, and listed only when asked for by status; ``discard_job`` removes a refused upload.
  A process that dies mid-upload leaves its job ``receiving``: ``purge_abandoned_uploads``
  removes those older than the upload lease with their chunks, and an upload whose job was
  removed meanwhile is refused (``Conflict``) at its next chunk.
- ``claim_chunk`` leases one unanswered chunk of a queued or running job, oldest job first,
  to ``owner`` for ``lease`` seconds; a chunk whose lease ran out may be claimed again by
  anyone (its ``attempt`` grows). PostgreSQL claims with ``FOR UPDATE SKIP LOCKED``, so
  replicas never wait on each other's claims. A chunk claimed ``MAX_ATTEMPTS`` times without
  completing fails its job.
- ``complete_chunk`` stores a chunk's answers, counts and progress in one transaction, only
  if the claim still holds (same owner and attempt, job not cancelled): each row is answered
  exactly once whatever dies meanwhile. The job completes with its last chunk.
- ``iter_results`` yields answered chunks' NDJSON in input order, one chunk in memory at a time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from validator.jobs.model import ChunkAnswer, ChunkClaim, InputRow, Job, JobOptions, JobStatus


class JobStore(Protocol):
    async def create_job(self, options: JobOptions, *, created_by: str, owner_key: str | None = None) -> Job:
        """A new ``receiving`` job; ``owner_key``: the id of the API key it belongs to."""

    async def add_chunk(self, job_id: str, chunk_no: int, rows: Sequence[InputRow]) -> None:
        """Store the input rows of one chunk (chunk numbers count from 0 in input order)."""

    async def open_job(self, job_id: str, total: int, options: JobOptions) -> Job:
        """Accept a fully received job: ``queued`` (``completed`` when ``total`` is 0)."""

    async def discard_job(self, job_id: str) -> None:
        """Remove a job and its chunks whatever its status."""

    async def get_job(self, job_id: str) -> Job | None:
        """The job (``receiving`` ones too), or None."""

    async def list_jobs(
        self,
        cursor: str | None = None,
        limit: int = 100,
        *,
        owner_key: str | None = None,
        status: JobStatus | None = None,
    ) -> tuple[list[Job], str | None]:
        """One page of jobs, newest first, and the cursor of the next (None: the end); every
        status but ``receiving``, or only ``status``; only ``owner_key``'s when given."""

    async def purge_abandoned_uploads(self, older_than: float) -> int:
        """Remove ``receiving`` jobs created over ``older_than`` seconds ago, with their chunks; how many."""

    async def claim_chunk(self, owner: str, lease: float) -> ChunkClaim | None:
        """Lease the next unanswered chunk, or None when there is none."""

    async def complete_chunk(self, claim: ChunkClaim, answer: ChunkAnswer) -> Job | None:
        """Store the answers if the claim still holds; the job after it, or None if it did not."""

    async def renew_claim(self, claim: ChunkClaim, lease: float) -> bool:
        """Extend a claim that is still held (same owner and attempt, not answered) by ``lease`` seconds from now."""

    async def note_answered(self, claim: ChunkClaim, rows: int) -> None:
        """Record that ``rows`` of a chunk still held are answered (readers add them to ``processed``)."""

    async def release_claims(self, owner: str) -> int:
        """Give back the unanswered chunks ``owner`` holds (a graceful shutdown), uncounted as attempts."""

    async def cancel_job(self, job_id: str) -> Job | None:
        """Cancel a queued or running job (answered chunks are kept); the job, or None if unknown."""

    async def claim_unsent_callbacks(self, older_than: float, limit: int = 100) -> list[Job]:
        """Completed jobs (finished over ``older_than`` seconds ago) whose callback was never attempted,
        each marked ``resending`` so one runner sends it: a process that died between completing a
        job and posting its callback left them behind."""

    async def record_callback(self, job_id: str, outcome: str) -> None:
        """Note how the completion callback went."""

    def iter_results(self, job_id: str) -> AsyncIterator[bytes]:
        """The answered chunks' NDJSON lines, chunk by chunk in input order."""
