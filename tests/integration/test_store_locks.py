"""``VALIDATOR_STORE_TIMEOUT`` bounds each write's whole wait, however many writes queue behind a lock.

Another holder takes the database's write lock (a second SQLite connection holding ``BEGIN
IMMEDIATE``, as another process would; a PostgreSQL session holding ``LOCK TABLE ... IN EXCLUSIVE
MODE``, which still lets readers in) while several writes arrive at once. Each must give up with
``StoreUnavailable`` about ``timeout`` seconds after it was called: not after its turn came, which
made the eighth of eight writes answer after eight timeouts.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator

import pytest

from validator.errors import StoreUnavailable
from validator.jobs.model import JobOptions
from validator.model import SuppressionEntry, SuppressionKind, SuppressionReason
from validator.store import open_store

TIMEOUT = 1.0  # VALIDATOR_STORE_TIMEOUT of the store under test
WRITES = 6  # concurrent writes behind the lock: without the bound the last waited 6 x TIMEOUT
SLACK = 0.8  # seconds a write may answer after its timeout on a loaded two-core machine


@contextlib.asynccontextmanager
async def write_lock(store_url: str, table: str = "suppressions") -> AsyncIterator[None]:
    """Hold the database's write lock (PostgreSQL: ``table``'s) through a connection of its own for the block."""
    if store_url.startswith("sqlite"):
        holder = sqlite3.connect(store_url.removeprefix("sqlite:///"), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    import asyncpg

    conn = await asyncpg.connect(store_url)
    try:
        transaction = conn.transaction()
        await transaction.start()
        await conn.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
        yield
        await transaction.rollback()
    finally:
        await conn.close()


async def timed_put(store, n: int) -> tuple[float, BaseException | None]:
    """Seconds until the put returned or failed, and how it failed."""
    began = time.monotonic()
    try:  # the outer bound only keeps a failing run short (the PostgreSQL command timeout is 30 s)
        await asyncio.wait_for(
            store.put_suppression(
                SuppressionEntry(
                    SuppressionKind.ADDRESS, f"queued{n}@example.com", SuppressionReason.UNSUBSCRIBE, "test"
                ),
                actor="t",
            ),
            TIMEOUT * WRITES + 5,
        )
    except (StoreUnavailable, TimeoutError) as exc:
        return time.monotonic() - began, exc
    return time.monotonic() - began, None


async def test_writes_queued_behind_a_lock_each_give_up_after_one_timeout(store_url):
    store = await open_store(store_url, timeout=TIMEOUT)
    try:
        async with write_lock(store_url):
            outcomes = await asyncio.gather(*(timed_put(store, n) for n in range(WRITES)))
            # reads are not held up meanwhile (WAL readers; EXCLUSIVE mode lets SELECT in)
            assert await store.get_suppression(SuppressionKind.ADDRESS, "queued0@example.com") is None
        waits = sorted(round(seconds, 2) for seconds, _ in outcomes)
        assert all(isinstance(exc, StoreUnavailable) for _, exc in outcomes), outcomes
        assert waits[-1] <= TIMEOUT + SLACK, f"waits {waits}: a queued write waited more than its own timeout"
        assert waits[0] >= TIMEOUT * 0.9, f"waits {waits}: a write gave up before its timeout"
        stored, added = await store.put_suppression(
            SuppressionEntry(  # the lock is gone: writes work again
                SuppressionKind.ADDRESS, "after@example.com", SuppressionReason.UNSUBSCRIBE, "test"
            ),
            actor="t",
        )
        assert added and stored.value == "after@example.com"
    finally:
        await store.close()


async def test_a_write_that_arrives_within_its_timeout_still_goes_through(store_url):
    """The bound is a deadline, not a refusal: a lock released in time lets the queued writes in."""
    store = await open_store(store_url, timeout=3.0)
    try:
        async with write_lock(store_url):
            puts = [asyncio.ensure_future(timed_put(store, n)) for n in range(WRITES)]
            await asyncio.sleep(0.5)
        outcomes = await asyncio.gather(*puts)
        assert [exc for _, exc in outcomes] == [None] * WRITES
        assert max(seconds for seconds, _ in outcomes) < 3.0
    finally:
        await store.close()


async def test_job_bookkeeping_writes_give_up_after_one_timeout_too(store_url):
    """An upload's first write (the job row) behind a lock: 503 after the timeout, not the 30 s
    PostgreSQL command timeout single statements had."""
    store = await open_store(store_url, timeout=TIMEOUT)
    try:
        async with write_lock(store_url, "jobs"):
            began = time.monotonic()
            with pytest.raises(StoreUnavailable):
                await asyncio.wait_for(store.create_job(JobOptions(), created_by="t"), TIMEOUT * WRITES + 5)
            waited = time.monotonic() - began
        assert TIMEOUT * 0.9 <= waited <= TIMEOUT + SLACK, f"waited {waited:.2f} s"
    finally:
        await store.close()
