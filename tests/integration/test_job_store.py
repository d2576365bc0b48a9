"""The JobStore contract on a real SQLite file and on the real PostgreSQL server."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from tests.support.stores import chunk_jobs
from validator.errors import Conflict, InvalidField
from validator.jobs.model import ChunkAnswer, Counts, InputRow, JobOptions, JobStatus
from validator.store import open_store


def _rows(first: int, n: int) -> list[InputRow]:
    return [InputRow(first + i, f"u{first + i}@example.com") for i in range(n)]


def _answer(claim) -> ChunkAnswer:
    lines = tuple(orjson.dumps({"row": r.row}) + b"\n" for r in claim.rows)
    return ChunkAnswer(lines, Counts({"deliverable": len(lines)}, {"free_provider": 1}))


async def _job(store, chunks: int, per_chunk: int = 3, **options):
    job = await store.create_job(JobOptions(**options), created_by="key:test")
    for n in range(chunks):
        await store.add_chunk(job.id, n, _rows(1 + n * per_chunk, per_chunk))
    return await store.open_job(job.id, chunks * per_chunk, JobOptions(**options))


async def test_a_job_runs_chunk_by_chunk_to_completion_with_counts(store):
    job = await _job(store, 2, smtp=True, callback_url="https://hooks.example.com/x")
    assert (job.status, job.total, job.options.smtp) == (JobStatus.QUEUED, 6, True)
    first = await store.claim_chunk("a", 30)
    second = await store.claim_chunk("b", 30)  # the first is leased: the next one comes
    assert (first.chunk_no, second.chunk_no) == (0, 1)
    assert [r.row for r in first.rows] == [1, 2, 3]
    assert await store.claim_chunk("c", 30) is None
    assert (await store.get_job(job.id)).status is JobStatus.RUNNING
    after_second = await store.complete_chunk(second, _answer(second))
    assert (after_second.processed, after_second.status) == (3, JobStatus.RUNNING)
    done = await store.complete_chunk(first, _answer(first))
    assert (done.status, done.processed) == (JobStatus.COMPLETED, 6)
    assert done.counts == Counts({"deliverable": 6}, {"free_provider": 2})
    assert done.started_at is not None and done.finished_at is not None
    lines = b"".join([chunk async for chunk in store.iter_results(job.id)]).splitlines()
    assert [orjson.loads(line)["row"] for line in lines] == [1, 2, 3, 4, 5, 6]  # input order, not completion order


async def test_an_expired_lease_is_claimed_again_and_the_old_claim_cannot_complete(store_url):
    now = [datetime(2026, 1, 1, tzinfo=UTC)]
    store = await open_store(store_url, clock=lambda: now[0])
    try:
        job = await _job(store, 1)
        stale = await store.claim_chunk("dead-replica", 10)
        assert await store.claim_chunk("other", 10) is None  # leased
        now[0] += timedelta(seconds=11)
        fresh = await store.claim_chunk("other", 10)
        assert (fresh.chunk_no, fresh.attempt) == (0, 2)
        assert await store.complete_chunk(stale, _answer(stale)) is None  # the dead replica woke up too late
        done = await store.complete_chunk(fresh, _answer(fresh))
        assert (done.status, done.processed) == (JobStatus.COMPLETED, 3)
        assert await store.complete_chunk(fresh, _answer(fresh)) is None  # never twice
        assert (await store.get_job(job.id)).processed == 3
    finally:
        await store.close()


async def test_a_renewed_lease_keeps_the_chunk_and_only_its_holder_can_renew(store_url):
    now = [datetime(2026, 1, 1, tzinfo=UTC)]
    store = await open_store(store_url, clock=lambda: now[0])
    try:
        await _job(store, 1)
        claim = await store.claim_chunk("worker", 10)
        now[0] += timedelta(seconds=8)
        assert await store.renew_claim(claim, 10) is True
        now[0] += timedelta(seconds=8)  # 16 s after the claim: past the first lease, inside the renewed one
        assert await store.claim_chunk("other", 10) is None
        assert await store.renew_claim(dataclasses.replace(claim, owner="other"), 10) is False
        assert (await store.complete_chunk(claim, _answer(claim))).processed == 3
        assert await store.renew_claim(claim, 10) is False  # answered: nothing left to renew
    finally:
        await store.close()


async def test_callbacks_a_dead_process_never_sent_are_claimed_once_after_a_grace(store_url):
    now = [datetime(2026, 1, 1, tzinfo=UTC)]
    store = await open_store(store_url, clock=lambda: now[0])
    try:
        with_url = await _job(store, 1, callback_url="https://hooks.example.com/done")
        await _job(store, 1)  # no callback_url: never a callback to send
        for _ in range(2):
            claim = await store.claim_chunk("worker", 10)
            await store.complete_chunk(claim, _answer(claim))
        assert await store.claim_unsent_callbacks(60) == []  # the completing runner may still be sending
        now[0] += timedelta(seconds=61)
        assert [job.id for job in await store.claim_unsent_callbacks(60)] == [with_url.id]
        assert await store.claim_unsent_callbacks(60) == []  # claimed: one runner sends it
        await store.record_callback(with_url.id, "sent 204")
        assert (await store.get_job(with_url.id)).callback == "sent 204"
    finally:
        await store.close()


async def test_a_chunk_that_keeps_failing_fails_its_job_not_the_runner(store_url):
    now = [datetime(2026, 1, 1, tzinfo=UTC)]
    store = await open_store(store_url, clock=lambda: now[0])
    try:
        job = await _job(store, 1)
        for _ in range(3):
            assert await store.claim_chunk("crashing", 1) is not None
            now[0] += timedelta(seconds=2)
        assert await store.claim_chunk("crashing", 1) is None
        failed = await store.get_job(job.id)
        assert failed.status is JobStatus.FAILED
        assert "chunk 0" in failed.error
    finally:
        await store.close()


async def test_cancelled_job_is_not_claimed_and_its_running_chunk_is_dropped(store):
    job = await _job(store, 2)
    claim = await store.claim_chunk("a", 30)
    cancelled = await store.cancel_job(job.id)
    assert cancelled.status is JobStatus.CANCELLED and cancelled.finished_at is not None
    assert await store.complete_chunk(claim, _answer(claim)) is None
    assert await store.claim_chunk("a", 30) is None
    await store.discard_job(job.id)
    assert await store.get_job(job.id) is None


async def test_receiving_job_is_never_claimed_and_listed_only_when_asked_for(store):
    receiving = await store.create_job(JobOptions(), created_by="key:test")
    await store.add_chunk(receiving.id, 0, _rows(1, 2))
    assert (await store.get_job(receiving.id)).status is JobStatus.RECEIVING
    assert await store.claim_chunk("a", 30) is None
    assert (await store.list_jobs())[0] == []
    assert [j.id for j in (await store.list_jobs(status=JobStatus.RECEIVING))[0]] == [receiving.id]
    assert (await store.list_jobs(status=JobStatus.QUEUED))[0] == []
    empty = await _job(store, 0)
    assert empty.status is JobStatus.COMPLETED


async def test_jobs_list_newest_first_with_a_cursor(store):
    ids = [(await _job(store, 1)).id for _ in range(5)]
    page, cursor = await store.list_jobs(limit=2)
    seen = [j.id for j in page]
    while cursor:
        page, cursor = await store.list_jobs(cursor, limit=2)
        seen += [j.id for j in page]
    assert seen == ids[::-1]
    with pytest.raises(InvalidField):
        await store.list_jobs("bm90LWEtY3Vyc29y")


async def test_released_claims_are_claimed_at_once_and_not_counted_as_attempts(store):
    await _job(store, 1)
    claim = await store.claim_chunk("stopping", 60)
    assert await store.release_claims("stopping") == 1
    again = await store.claim_chunk("other", 60)  # no need to wait for the 60 s lease
    assert (again.chunk_no, again.attempt) == (claim.chunk_no, 1)
    assert await store.complete_chunk(claim, _answer(claim)) is None


async def test_uploads_left_receiving_are_purged_after_the_lease_with_their_chunks(store_url):
    """A process that died mid-upload left its job receiving: invisible to runners, holding chunks."""
    clock = [datetime(2026, 1, 1, tzinfo=UTC)]
    store = await open_store(store_url, clock=lambda: clock[0])
    try:
        abandoned = await store.create_job(JobOptions(), created_by="key:test")
        await store.add_chunk(abandoned.id, 0, _rows(1, 3))
        clock[0] += timedelta(seconds=50)
        arriving = await store.create_job(JobOptions(), created_by="key:test")  # younger than the lease
        done = await _job(store, 1)
        clock[0] += timedelta(seconds=20)
        assert await store.purge_abandoned_uploads(60) == 1
        assert await store.get_job(abandoned.id) is None
        assert [j.id for j in (await store.list_jobs(status=JobStatus.RECEIVING))[0]] == [arriving.id]
        assert (await store.get_job(done.id)).status is JobStatus.QUEUED  # accepted jobs are never purged
        assert await chunk_jobs(store_url) == [done.id]  # the abandoned job's chunk went with it
        with pytest.raises(Conflict, match="removed while its upload"):  # its upload, if it were still alive
            await store.add_chunk(abandoned.id, 1, _rows(4, 3))
        with pytest.raises(Conflict, match="removed while its upload"):
            await store.open_job(abandoned.id, 3, JobOptions())
        assert await chunk_jobs(store_url) == [done.id]  # and it left no orphan chunk
    finally:
        await store.close()


async def test_answered_rows_of_a_worked_chunk_count_as_processed_until_it_completes(store_url):
    now = [datetime(2026, 1, 1, tzinfo=UTC)]
    store = await open_store(store_url, clock=lambda: now[0])
    try:
        job = await _job(store, 2, per_chunk=10)
        first = await store.claim_chunk("a", 10)
        await store.note_answered(first, 4)
        assert (await store.get_job(job.id)).processed == 4  # a slice answered: seen before the chunk completes
        [listed], _ = await store.list_jobs()
        assert listed.processed == 4
        await store.note_answered(dataclasses.replace(first, owner="b"), 9)  # not the holder: ignored
        assert (await store.get_job(job.id)).processed == 4
        now[0] += timedelta(seconds=11)
        again = await store.claim_chunk("c", 10)  # the lease ran out: the chunk starts over, and so does its count
        assert again.chunk_no == 0 and (await store.get_job(job.id)).processed == 0
        await store.note_answered(again, 7)
        done = await store.complete_chunk(again, _answer(again))
        assert done.processed == 10 and (await store.get_job(job.id)).processed == 10  # its rows counted once
    finally:
        await store.close()
