"""``JobStore`` on SQLite: ``SqliteJobs``, on the writer and scan threads of ``SqliteConnections``.

Every job write is one ``BEGIN IMMEDIATE`` transaction on the writer thread, so claims and
completions of every process on the file are serialised by SQLite's write lock: a claim
cannot be taken twice and needs no row locks. Blobs are compressed and decompressed on those
threads, never on the event loop. Reads (status, list, results) run on the scan thread.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from typing import TypeVar

from validator.jobs.model import ChunkAnswer, ChunkClaim, Counts, InputRow, Job, JobOptions, JobStatus
from validator.store import job_records as jr
from validator.store.records import checked_limit
from validator.store.sqlite.connections import SqliteConnections
from validator.store.sqlite.sql import from_us, to_us

T = TypeVar("T")
RESULT_PAGE = 4  # answered chunks read at a time by iter_results
_OPEN = "('queued', 'running')"


class SqliteJobs(SqliteConnections):
    """``JobStore`` on SQLite, on the writer and scan threads of ``SqliteConnections``."""

    async def create_job(self, options: JobOptions, *, created_by: str, owner_key: str | None = None) -> Job:
        now = self._clock()
        job = Job(
            jr.new_job_id(now), JobStatus.RECEIVING, options, 0, 0, Counts(), created_by, now, owner_key=owner_key
        )
        await self._write(
            lambda conn: conn.execute(
                f"INSERT INTO jobs ({jr.JOB_COLUMNS}) VALUES (?, ?, ?, 0, 0, '{{}}', ?, ?, NULL, NULL, NULL, NULL, ?)",
                (job.id, job.status.value, jr.encode_options(options), created_by, to_us(now), owner_key),
            )
        )
        return job

    async def add_chunk(self, job_id: str, chunk_no: int, rows: Sequence[InputRow]) -> None:
        def add(conn: sqlite3.Connection) -> None:
            if not conn.execute(
                "INSERT INTO job_chunks (job_id, chunk_no, rows, input) SELECT ?, ?, ?, ?"
                " WHERE EXISTS (SELECT 1 FROM jobs WHERE id = ? AND status = 'receiving')",
                (job_id, chunk_no, len(rows), jr.encode_rows(rows), job_id),
            ).rowcount:
                raise jr.upload_gone(job_id)

        await self._write(add)

    async def open_job(self, job_id: str, total: int, options: JobOptions) -> Job:
        def open_(conn: sqlite3.Connection) -> None:
            now = to_us(self._clock())
            status, finished = (JobStatus.COMPLETED, now) if total == 0 else (JobStatus.QUEUED, None)
            if not conn.execute(
                "UPDATE jobs SET status = ?, total = ?, options = ?, finished_at = ?"
                " WHERE id = ? AND status = 'receiving'",
                (status.value, total, jr.encode_options(options), finished, job_id),
            ).rowcount:
                raise jr.upload_gone(job_id)

        await self._write(open_)
        job = await self.get_job(job_id)
        assert job is not None
        return job

    async def discard_job(self, job_id: str) -> None:
        def discard(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM job_chunks WHERE job_id = ?", (job_id,))
            conn.execute("DELETE FROM jobs WHERE id = ?", (job_id,))

        await self._write(discard)

    async def get_job(self, job_id: str) -> Job | None:
        rows = await self._scan(f"SELECT {jr.LIVE_JOB_COLUMNS} FROM jobs WHERE id = ?", (job_id,))
        return jr.job_of(rows[0], from_us) if rows else None

    async def list_jobs(
        self,
        cursor: str | None = None,
        limit: int = 100,
        *,
        owner_key: str | None = None,
        status: JobStatus | None = None,
    ) -> tuple[list[Job], str | None]:
        after, limit = jr.decode_cursor(cursor), checked_limit(limit)
        wanted = None if status is None else JobStatus(status).value
        rows = await self._scan(
            f"SELECT {jr.LIVE_JOB_COLUMNS} FROM jobs WHERE (status = ? OR ? IS NULL AND"
            " status != 'receiving') AND id < ? AND (? IS NULL OR owner_key = ?)"
            " ORDER BY id DESC LIMIT ?",
            (wanted, wanted, after or "g", owner_key, owner_key, limit + 1),
        )
        jobs = [jr.job_of(row, from_us) for row in rows[:limit]]
        return jobs, jr.encode_cursor(jobs[-1].id) if len(rows) > limit else None

    async def purge_abandoned_uploads(self, older_than: float) -> int:
        def purge(conn: sqlite3.Connection) -> int:
            cutoff = to_us(self._clock() - timedelta(seconds=older_than))
            abandoned = "SELECT id FROM jobs WHERE status = 'receiving' AND created_at < ?"
            conn.execute(f"DELETE FROM job_chunks WHERE job_id IN ({abandoned})", (cutoff,))
            return conn.execute(f"DELETE FROM jobs WHERE id IN ({abandoned})", (cutoff,)).rowcount

        return await self._write(purge)

    async def claim_chunk(self, owner: str, lease: float) -> ChunkClaim | None:
        def claim(conn: sqlite3.Connection) -> ChunkClaim | None:
            now = self._clock()
            while True:
                found = conn.execute(
                    "SELECT c.job_id, c.chunk_no, c.input, c.attempts, j.options FROM job_chunks c"
                    f" JOIN jobs j ON j.id = c.job_id WHERE c.results IS NULL AND j.status IN {_OPEN}"
                    " AND (c.lease_until IS NULL OR c.lease_until < ?) ORDER BY c.job_id, c.chunk_no LIMIT 1",
                    (to_us(now),),
                ).fetchone()
                if found is None:
                    return None
                job_id, chunk_no, blob, attempts, options = found
                if attempts >= jr.MAX_ATTEMPTS:  # it failed whoever worked it: stop the job, not the runners
                    conn.execute(
                        "UPDATE jobs SET status = 'failed', finished_at = ?, error = ? WHERE id = ?",
                        (to_us(now), f"chunk {chunk_no} failed {attempts} times", job_id),
                    )
                    continue
                conn.execute(
                    "UPDATE job_chunks SET lease_owner = ?, lease_until = ?, attempts = ?, answered = 0"
                    " WHERE job_id = ? AND chunk_no = ?",
                    (owner, to_us(now + timedelta(seconds=lease)), attempts + 1, job_id, chunk_no),
                )
                conn.execute(
                    "UPDATE jobs SET status = 'running', started_at = ? WHERE id = ? AND status = 'queued'",
                    (to_us(now), job_id),
                )
                return ChunkClaim(
                    job_id, chunk_no, owner, attempts + 1, jr.decode_options(options), jr.decode_rows(blob)
                )

        return await self._write(claim)

    async def complete_chunk(self, claim: ChunkClaim, answer: ChunkAnswer) -> Job | None:
        def complete(conn: sqlite3.Connection) -> Job | None:
            blob = jr.encode_lines(answer.lines)  # here, on the writer thread: never on the loop
            row = conn.execute(f"SELECT {jr.JOB_COLUMNS} FROM jobs WHERE id = ?", (claim.job_id,)).fetchone()
            if row is None or row[1] not in ("queued", "running"):
                return None
            changed = conn.execute(
                "UPDATE job_chunks SET results = ?, input = NULL, lease_owner = NULL, lease_until = NULL"
                " WHERE job_id = ? AND chunk_no = ? AND results IS NULL AND lease_owner = ? AND attempts = ?"
                " RETURNING rows",
                (blob, claim.job_id, claim.chunk_no, claim.owner, claim.attempt),
            ).fetchone()
            if changed is None:
                return None  # the lease ran out and another runner took the chunk
            now = self._clock()
            processed, counts, status, finished = jr.after_chunk(
                jr.job_of(row, from_us), changed[0], answer.counts, now
            )
            updated = conn.execute(
                f"UPDATE jobs SET processed = ?, counts = ?, status = ?, finished_at = ? WHERE id = ?"
                f" RETURNING {jr.JOB_COLUMNS}",
                (processed, jr.encode_counts(counts), status.value, finished and to_us(finished), claim.job_id),
            ).fetchone()
            return jr.job_of(updated, from_us)

        return await self._write(complete)

    async def renew_claim(self, claim: ChunkClaim, lease: float) -> bool:
        def renew(conn: sqlite3.Connection) -> bool:
            return (
                conn.execute(
                    "UPDATE job_chunks SET lease_until = ? WHERE job_id = ? AND chunk_no = ? AND results IS NULL"
                    " AND lease_owner = ? AND attempts = ?",
                    (
                        to_us(self._clock() + timedelta(seconds=lease)),
                        claim.job_id,
                        claim.chunk_no,
                        claim.owner,
                        claim.attempt,
                    ),
                ).rowcount
                == 1
            )

        return await self._write(renew)

    async def note_answered(self, claim: ChunkClaim, rows: int) -> None:
        await self._write(
            lambda conn: conn.execute(
                "UPDATE job_chunks SET answered = ? WHERE job_id = ? AND chunk_no = ? AND results IS NULL"
                " AND lease_owner = ? AND attempts = ?",
                (rows, claim.job_id, claim.chunk_no, claim.owner, claim.attempt),
            )
        )

    async def release_claims(self, owner: str) -> int:
        def release(conn: sqlite3.Connection) -> int:
            return conn.execute(
                "UPDATE job_chunks SET lease_owner = NULL, lease_until = NULL,"
                " attempts = attempts - 1, answered = 0"
                " WHERE lease_owner = ? AND results IS NULL",
                (owner,),
            ).rowcount

        return await self._write(release)

    async def cancel_job(self, job_id: str) -> Job | None:
        def cancel(conn: sqlite3.Connection) -> None:
            conn.execute(
                f"UPDATE jobs SET status = 'cancelled', finished_at = ? WHERE id = ? AND status IN {_OPEN}",
                (to_us(self._clock()), job_id),
            )

        await self._write(cancel)
        return await self.get_job(job_id)

    async def claim_unsent_callbacks(self, older_than: float, limit: int = 100) -> list[Job]:
        def claim(conn: sqlite3.Connection) -> list[str]:
            cutoff = to_us(self._clock() - timedelta(seconds=older_than))
            ids = [
                row[0]
                for row in conn.execute(
                    f"SELECT id FROM jobs WHERE status = 'completed' AND callback IS NULL AND {jr.HAS_CALLBACK}"
                    " AND finished_at < ? ORDER BY id LIMIT ?",
                    (cutoff, limit),
                )
            ]
            conn.executemany("UPDATE jobs SET callback = ? WHERE id = ?", [(jr.RESENDING, i) for i in ids])
            return ids

        return [job for job_id in await self._write(claim) if (job := await self.get_job(job_id)) is not None]

    async def record_callback(self, job_id: str, outcome: str) -> None:
        await self._write(lambda conn: conn.execute("UPDATE jobs SET callback = ? WHERE id = ?", (outcome, job_id)))

    async def iter_results(self, job_id: str) -> AsyncIterator[bytes]:
        after = -1
        while True:
            rows = await self._scan(
                "SELECT chunk_no, results FROM job_chunks WHERE job_id = ? AND chunk_no > ?"
                " AND results IS NOT NULL ORDER BY chunk_no LIMIT ?",
                (job_id, after, RESULT_PAGE),
            )
            for chunk_no, blob in rows:
                yield jr.decode_lines(blob)
                after = chunk_no
            if len(rows) < RESULT_PAGE:
                return
