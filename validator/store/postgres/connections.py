"""The shared store: PostgreSQL through asyncpg, for many replicas.

Every call borrows a connection of ``pool.ConnectionPool`` (not asyncpg's pool: see there why)
for one statement or one transaction. The pool replaces a connection found closed when it is
next taken, so the service recovers by itself when the server comes back. A call whose
connection turns out dead *before its transaction began* (server restarted, backend
terminated) is retried once on a fresh connection: nothing of it can have been applied. A
failure after that (e.g. during COMMIT) is not retried, since the write may have committed,
and leaves as ``StoreUnavailable``.

Concurrent writers on several replicas: a write reads the rows it replaces ``FOR UPDATE``
and inserts new keys with ``ON CONFLICT DO NOTHING``; a key another transaction inserted
meanwhile is re-read and planned again, so no write is lost or counted twice.

Durability is the server's: a returned write has committed (``synchronous_commit`` on).
This module holds the pool, transactions, retries, error translation and migrations
(``PostgresConnections``); the methods of each role live beside it (``suppressions.py``,
``api_keys.py``, ``bounces.py``, ``probe_ledger.py``, ``jobs.py``). Only this package knows
asyncpg: its errors leave as ``StoreUnavailable``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from typing import Any, Self, TypeVar

import asyncpg

from validator.errors import StoreReadOnly, StoreUnavailable
from validator.store import records
from validator.store.base import StoreBase
from validator.store.migrations import SCHEMA_MIGRATIONS_POSTGRES, pending
from validator.store.postgres.pool import ConnectionPool

T = TypeVar("T")
MIGRATION_LOCK = 0x76616C69  # pg_advisory_xact_lock key: one migrating replica at a time
# The server is down, unreachable, refusing work for now, or the connection died: retry later.
UNAVAILABLE = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.InternalClientError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.ReadOnlySQLTransactionError,
    asyncpg.exceptions.InvalidCatalogNameError,
    asyncpg.exceptions.InvalidAuthorizationSpecificationError,
    asyncpg.exceptions.LockNotAvailableError,
)  # lock_timeout ran out (see _attempt)
# An established connection died (server restarted, backend terminated): a fresh one may work.
# InternalClientError: an idle connection that received the server's FATAL 57P01 ("terminating
# connection due to administrator command") but not yet its EOF refuses the next query with
# "cannot switch to state 15; another operation (2) is in progress".
CONNECTION_LOST = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.InternalClientError,
    ConnectionResetError,
    BrokenPipeError,
)


def unavailable(exc: BaseException) -> StoreUnavailable:
    if isinstance(exc, asyncpg.exceptions.ReadOnlySQLTransactionError):  # 25006: a standby, or read-only by default
        return StoreReadOnly(f"PostgreSQL store is read-only: {exc}")
    return StoreUnavailable(f"PostgreSQL store unavailable: {type(exc).__name__}: {exc}")


@contextlib.contextmanager
def translated() -> Iterator[None]:
    try:
        yield
    except UNAVAILABLE as exc:
        raise unavailable(exc) from exc


class NotStarted(Exception):
    """The connection failed before the transaction began: safe to retry."""


class Contended(Exception):
    """Another transaction inserted one of our new keys first: roll back and plan again."""


class PostgresConnections(StoreBase):
    """The plumbing every role's methods run on; ``PostgresStore`` composes them. Open with ``await open(dsn)``."""

    def __init__(
        self, pool: ConnectionPool, timeout: float, key_cache_ttl: float, clock: Callable[[], datetime]
    ) -> None:
        super().__init__(clock, key_cache_ttl)
        self._pool, self._timeout = pool, timeout

    @classmethod
    async def open(
        cls,
        dsn: str,
        *,
        timeout: float = 5.0,
        key_cache_ttl: float = 5.0,
        pool_size: int = 10,
        clock: Callable[[], datetime] = records.utc_now,
    ) -> Self:
        pool = ConnectionPool(dsn, pool_size, connect_timeout=timeout, command_timeout=max(timeout, 30.0))
        store = cls(pool, timeout, key_cache_ttl, clock)
        try:
            try:
                await store._transaction(store._migrate, bounded=False)  # another replica may migrate for long
            except StoreReadOnly:  # open for reads if nothing is missing; ping and writes say read-only
                if pending({r[0] for r in await store._fetch("SELECT version FROM schema_migrations")}):
                    raise
        except BaseException:
            await store.close()
            raise
        return store

    # --- plumbing -------------------------------------------------------------------------

    async def _transaction(self, fn: Callable[[asyncpg.Connection], Awaitable[T]], *, bounded: bool = True) -> T:
        """Run ``fn(conn)`` in one transaction. Retry on a connection dead on arrival (once) and
        on losing an insert race to another transaction (a few times): nothing was applied then.
        ``bounded``: the wait for a connection and for locks together last at most ``timeout``."""
        dead = contended = 0
        while True:
            try:
                return await self._attempt(fn, bounded)
            except NotStarted as exc:
                dead += 1
                if dead == 2:
                    raise StoreUnavailable(f"PostgreSQL store unavailable: {exc.__cause__}") from exc.__cause__
            except Contended as exc:
                contended += 1
                if contended == 5:
                    raise StoreUnavailable("too much contention on the same keys; retry") from exc

    async def _attempt(self, fn: Callable[[asyncpg.Connection], Awaitable[T]], bounded: bool) -> T:
        """One transaction. Bounded, its lock waits get what the wait for a connection left of
        ``timeout`` (``lock_timeout``, set with BEGIN in one round trip): without it, writes queued
        behind a table lock waited for the 30 s command timeout each."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout
        with self._read_only_check(), translated():
            async with self._pool.borrow(self._timeout) as conn:
                left_ms = max(1, int((deadline - loop.time()) * 1000))
                try:
                    await conn.execute(f"BEGIN; SET LOCAL lock_timeout = {left_ms}" if bounded else "BEGIN")
                except CONNECTION_LOST as exc:
                    self._discard(conn)
                    raise NotStarted() from exc
                try:
                    result = await fn(conn)
                except BaseException:
                    with contextlib.suppress(*UNAVAILABLE, asyncpg.PostgresError):
                        await conn.execute("ROLLBACK")
                    raise
                # a failure here is not retried: it may have committed. A transaction an error had
                # aborted answers COMMIT with "ROLLBACK" and no error: that is no success either.
                if await conn.execute("COMMIT") != "COMMIT":
                    raise StoreUnavailable("PostgreSQL rolled the transaction back")
                return result

    async def _write_one(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        """One write statement in a bounded transaction (``_attempt``), so that its lock waits end
        with ``timeout`` too: two more round trips than ``_fetch``, for writes that are rare."""
        return await self._transaction(lambda conn: conn.fetch(sql, *args))

    async def _fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        """One statement; retried once if its pooled connection had died while idle."""
        for attempt in (1, 2):
            try:
                async with self._pool.borrow(self._timeout) as conn:
                    try:
                        return await conn.fetch(sql, *args)
                    except CONNECTION_LOST:
                        self._discard(conn)
                        raise
            except CONNECTION_LOST as exc:
                if attempt == 2 or self._pool.closed:
                    raise StoreUnavailable(f"PostgreSQL store unavailable: {type(exc).__name__}: {exc}") from exc
            except UNAVAILABLE as exc:
                with self._read_only_check():
                    raise unavailable(exc) from exc
        raise AssertionError("unreachable")

    @contextlib.contextmanager
    def _read_only_check(self) -> Iterator[None]:
        """On ``StoreReadOnly``, close the idle connections: a session keeps the read-only default
        it began with (``default_transaction_read_only``), so only new ones see the database writable
        again. The connection that failed is closed by the pool (``Borrowed.DOUBT``)."""
        try:
            yield
        except StoreReadOnly:
            self._pool.expire_idle()
            raise

    def _discard(self, conn: asyncpg.Connection) -> None:
        """Drop a dead connection and every idle one: a server restart or failover has killed
        them all, and each would otherwise fail one request."""
        conn.terminate()
        self._pool.expire_idle()

    async def _migrate(self, conn: asyncpg.Connection) -> None:
        await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
        await conn.execute(SCHEMA_MIGRATIONS_POSTGRES)
        applied = {r[0] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        for migration in pending(applied):  # one transaction: PostgreSQL DDL is transactional
            for statement in migration.statements("postgres"):
                await conn.execute(statement)
            await conn.execute(
                "INSERT INTO schema_migrations VALUES ($1, $2, $3)", migration.version, migration.name, self._clock()
            )

    # --- lifecycle ---------------------------------------------------------------------------

    async def ping(self) -> None:
        """Ready means writable: a standby, or a database set read-only, answers reads while every
        write fails. Asked twice when read-only: the second time on a fresh connection."""
        for _ in range(2):
            rows = await self._fetch("SELECT current_setting('transaction_read_only')")
            if rows[0][0] != "on":
                return
            self._pool.expire_idle()
        raise StoreReadOnly(
            "PostgreSQL store is read-only: transaction_read_only is on (a standby, or"
            " default_transaction_read_only set for the database or role)"
        )

    async def close(self) -> None:
        await self._keys.close()
        await self._pool.close()
