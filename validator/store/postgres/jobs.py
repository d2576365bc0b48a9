"""``JobStore`` on PostgreSQL (``PostgresJobs``), for several replicas sharing jobs.

Claims take the oldest unanswered chunk with ``FOR UPDATE SKIP LOCKED``: replicas claiming at
the same moment each get a different chunk and never wait on each other. A claim is a lease
(``lease_until``): a replica that dies holds its chunks only until the lease runs out, then
any replica claims them again. A completion locks the job row (``FOR UPDATE``), checks that
the claim still holds (owner and attempt unchanged) and writes answers, counts and progress
in one transaction: a chunk is answered once, and the last one completes the job exactly once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta

import asyncpg

from validator.jobs.model import ChunkAnswer, ChunkClaim, Counts, InputRow, Job, JobOptions, JobStatus
from validator.store import job_records as jr
from validator.store.postgres.connections import PostgresConnections
from validator.store.records import checked_limit

RESULT_PAGE = 4  # answered chunks read at a time by iter_results
_OPEN = "('queued', 'running')"
CLAIM_SQL = (
    "SELECT c.job_id, c.chunk_no, c.input, c.attempts, j.options FROM job_chunks c JOIN jobs j ON j.id = c.job_id"
    f" WHERE c.results IS NULL AND j.status IN {_OPEN} AND (c.lease_until IS NULL OR c.lease_until < $1)"
    " ORDER BY c.job_id, c.chunk_no LIMIT 1 FOR UPDATE OF c SKIP LOCKED"
)


def _same(moment: datetime | None) -> datetime | None:
    return moment


class PostgresJobs(PostgresConnections):
    """``JobStore`` on PostgreSQL, on the transactions of ``PostgresConnections``."""

    async def create_job(self, options: JobOptions, *, created_by: str, owner_key: str | None = None) -> Job:
        now = self._clock()
        job = Job(
            jr.new_job_id(now), JobStatus.RECEIVING, options, 0, 0, Counts(), created_by, now, owner_key=owner_key
        )
        await self._write_one(
            f"INSERT INTO jobs ({jr.JOB_COLUMNS}) VALUES ($1, $2, $3, 0, 0, '{{}}', $4, $5,"
            " NULL, NULL, NULL, NULL, $6)",
            job.id,
            job.status.value,
            jr.encode_options(options),
            created_by,
            now,
            owner_key,
        )
        return job

    async def add_chunk(self, job_id: str, chunk_no: int, rows: Sequence[InputRow]) -> None:
        if not await self._write_one(
            "INSERT INTO job_chunks (job_id, chunk_no, rows, input) SELECT $1, $2, $3, $4"
            " WHERE EXISTS (SELECT 1 FROM jobs WHERE id = $1 AND status = 'receiving')"
            " RETURNING chunk_no",
            job_id,
            chunk_no,
            len(rows),
            await asyncio.to_thread(jr.encode_rows, rows),
        ):
            raise jr.upload_gone(job_id)

    async def open_job(self, job_id: str, total: int, options: JobOptions) -> Job:
        now = self._clock()
        status, finished = (JobStatus.COMPLETED, now) if total == 0 else (JobStatus.QUEUED, None)
        rows = await self._write_one(
            f"UPDATE jobs SET status = $2, total = $3, options = $4, finished_at = $5"
            f" WHERE id = $1 AND status = 'receiving' RETURNING {jr.JOB_COLUMNS}",
            job_id,
            status.value,
            total,
            jr.encode_options(options),
            finished,
        )
        if not rows:
            raise jr.upload_gone(job_id)
        return jr.job_of(rows[0], _same)

    async def discard_job(self, job_id: str) -> None:
        await self._write_one("DELETE FROM jobs WHERE id = $1", job_id)  # its chunks go with it (ON DELETE CASCADE)

    async def get_job(self, job_id: str) -> Job | None:
        rows = await self._fetch(f"SELECT {jr.LIVE_JOB_COLUMNS} FROM jobs WHERE id = $1", job_id)
        return jr.job_of(rows[0], _same) if rows else None

    async def list_jobs(
        self,
        cursor: str | None = None,
        limit: int = 100,
        *,
        owner_key: str | None = None,
        status: JobStatus | None = None,
    ) -> tuple[list[Job], str | None]:
        after, limit = jr.decode_cursor(cursor), checked_limit(limit)
        rows = await self._fetch(
            f"SELECT {jr.LIVE_JOB_COLUMNS} FROM jobs WHERE (status = $4 OR $4::text IS NULL AND"
            " status != 'receiving') AND id < $1 AND ($3::text IS NULL OR owner_key = $3)"
            " ORDER BY id DESC LIMIT $2",
            after or "g",
            limit + 1,
            owner_key,
            None if status is None else JobStatus(status).value,
        )
        jobs = [jr.job_of(row, _same) for row in rows[:limit]]
        return jobs, jr.encode_cursor(jobs[-1].id) if len(rows) > limit else None

    async def purge_abandoned_uploads(self, older_than: float) -> int:
        rows = await self._write_one(
            "DELETE FROM jobs WHERE status = 'receiving' AND created_at < $1 RETURNING id",
            self._clock() - timedelta(seconds=older_than),
        )  # chunks: ON DELETE CASCADE
        return len(rows)

    async def claim_chunk(self, owner: str, lease: float) -> ChunkClaim | None:
        async def claim(conn: asyncpg.Connection) -> ChunkClaim | None:
            now = self._clock()
            while True:
                found = await conn.fetchrow(CLAIM_SQL, now)
                if found is None:
                    return None
                job_id, chunk_no, blob, attempts, options = found
                if attempts >= jr.MAX_ATTEMPTS:  # it failed whoever worked it: stop the job, not the runners
                    await conn.execute(
                        "UPDATE jobs SET status = 'failed', finished_at = $2, error = $3 WHERE id = $1",
                        job_id,
                        now,
                        f"chunk {chunk_no} failed {attempts} times",
                    )
                    continue
                await conn.execute(
                    "UPDATE job_chunks SET lease_owner = $3, lease_until = $4, attempts = $5,"
                    " answered = 0 WHERE job_id = $1 AND chunk_no = $2",
                    job_id,
                    chunk_no,
                    owner,
                    now + timedelta(seconds=lease),
                    attempts + 1,
                )
                await conn.execute(
                    "UPDATE jobs SET status = 'running', started_at = $2 WHERE id = $1 AND status = 'queued'",
                    job_id,
                    now,
                )
                return ChunkClaim(
                    job_id,
                    chunk_no,
                    owner,
                    attempts + 1,
                    jr.decode_options(options),
                    await asyncio.to_thread(jr.decode_rows, blob),
                )

        return await self._transaction(claim)

    async def complete_chunk(self, claim: ChunkClaim, answer: ChunkAnswer) -> Job | None:
        blob = await asyncio.to_thread(jr.encode_lines, answer.lines)  # zlib on a thread, not on the loop

        async def complete(conn: asyncpg.Connection) -> Job | None:
            row = await conn.fetchrow(f"SELECT {jr.JOB_COLUMNS} FROM jobs WHERE id = $1 FOR UPDATE", claim.job_id)
            if row is None or row[1] not in ("queued", "running"):
                return None
            rows = await conn.fetchval(
                "UPDATE job_chunks SET results = $1, input = NULL, lease_owner = NULL, lease_until = NULL"
                " WHERE job_id = $2 AND chunk_no = $3 AND results IS NULL AND lease_owner = $4 AND attempts = $5"
                " RETURNING rows",
                blob,
                claim.job_id,
                claim.chunk_no,
                claim.owner,
                claim.attempt,
            )
            if rows is None:
                return None  # the lease ran out and another replica took the chunk
            processed, counts, status, finished = jr.after_chunk(
                jr.job_of(row, _same), rows, answer.counts, self._clock()
            )
            updated = await conn.fetchrow(
                f"UPDATE jobs SET processed = $2, counts = $3, status = $4, finished_at = $5 WHERE id = $1"
                f" RETURNING {jr.JOB_COLUMNS}",
                claim.job_id,
                processed,
                jr.encode_counts(counts),
                status.value,
                finished,
            )
            return jr.job_of(updated, _same)

        return await self._transaction(complete)

    async def renew_claim(self, claim: ChunkClaim, lease: float) -> bool:
        rows = await self._write_one(
            "UPDATE job_chunks SET lease_until = $1 WHERE job_id = $2 AND chunk_no = $3 AND results IS NULL"
            " AND lease_owner = $4 AND attempts = $5 RETURNING chunk_no",
            self._clock() + timedelta(seconds=lease),
            claim.job_id,
            claim.chunk_no,
            claim.owner,
            claim.attempt,
        )
        return len(rows) == 1

    async def note_answered(self, claim: ChunkClaim, rows: int) -> None:
        await self._write_one(
            "UPDATE job_chunks SET answered = $1 WHERE job_id = $2 AND chunk_no = $3"
            " AND results IS NULL AND lease_owner = $4 AND attempts = $5",
            rows,
            claim.job_id,
            claim.chunk_no,
            claim.owner,
            claim.attempt,
        )

    async def release_claims(self, owner: str) -> int:
        rows = await self._write_one(
            "UPDATE job_chunks SET lease_owner = NULL, lease_until = NULL,"
            " attempts = attempts - 1, answered = 0"
            " WHERE lease_owner = $1 AND results IS NULL RETURNING chunk_no",
            owner,
        )
        return len(rows)

    async def cancel_job(self, job_id: str) -> Job | None:
        await self._write_one(
            f"UPDATE jobs SET status = 'cancelled', finished_at = $2 WHERE id = $1 AND status IN {_OPEN}",
            job_id,
            self._clock(),
        )
        return await self.get_job(job_id)

    async def claim_unsent_callbacks(self, older_than: float, limit: int = 100) -> list[Job]:
        rows = await self._write_one(  # SKIP LOCKED: two replicas recovering at once take different jobs
            f"UPDATE jobs SET callback = '{jr.RESENDING}' WHERE id IN (SELECT id FROM jobs WHERE status = 'completed'"
            f" AND callback IS NULL AND {jr.HAS_CALLBACK} AND finished_at < $1 ORDER BY id LIMIT $2"
            " FOR UPDATE SKIP LOCKED) RETURNING id",
            self._clock() - timedelta(seconds=older_than),
            limit,
        )
        return [job for row in rows if (job := await self.get_job(row[0])) is not None]

    async def record_callback(self, job_id: str, outcome: str) -> None:
        await self._write_one("UPDATE jobs SET callback = $2 WHERE id = $1", job_id, outcome)

    async def iter_results(self, job_id: str) -> AsyncIterator[bytes]:
        after = -1
        while True:
            rows = await self._fetch(
                "SELECT chunk_no, results FROM job_chunks WHERE job_id = $1 AND chunk_no > $2"
                " AND results IS NOT NULL ORDER BY chunk_no LIMIT $3",
                job_id,
                after,
                RESULT_PAGE,
            )
            for chunk_no, blob in rows:
                yield jr.decode_lines(blob)
                after = chunk_no
            if len(rows) < RESULT_PAGE:
                return
