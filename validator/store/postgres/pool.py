"""A small pool of asyncpg connections, made for the hot path of ``PostgresStore``.

Why not ``asyncpg.Pool``: measured on this machine, its acquire and release cost 80 µs per
call without a timeout and 128 µs with one (three event-loop turns: a task for the timeout,
another for the shielded release), plus a round trip for its default reset query on release,
against a 260 µs point lookup. Here, taking an idle connection does not suspend at all:
the idle connections are a LIFO list, and a call waits only when all ``size`` are busy.

What it keeps from asyncpg's pool: a connection found closed is dropped and replaced on
demand, so the store recovers by itself when the server comes back; ``expire_idle`` drops
every idle connection at once after a server restart killed them. What it leaves out:
session reset (the store sets no session state, takes only transaction-level locks, and a
connection released inside a transaction, after a cancellation or a timeout, is closed).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from types import TracebackType

import asyncpg


class ConnectionPool:
    """At most ``size`` connections to ``dsn``; idle ones reused last-in first-out."""

    def __init__(self, dsn: str, size: int, connect_timeout: float, command_timeout: float) -> None:
        self._dsn, self._size = dsn, size
        self._connect_timeout, self._command_timeout = connect_timeout, command_timeout
        self._idle: list[asyncpg.Connection] = []
        self._open = 0  # connections open or being opened
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self.closed = False

    def borrow(self, timeout: float) -> Borrowed:
        """``async with pool.borrow(timeout) as conn``: a connection for one statement or transaction."""
        return Borrowed(self, timeout)

    async def acquire(self, timeout: float) -> asyncpg.Connection:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if self.closed:
                raise asyncpg.InterfaceError("the connection pool is closed")
            while self._idle:
                conn = self._idle.pop()
                if not conn.is_closed():
                    return conn
                self._open -= 1  # died while idle (server restart, idle timeout): replace it
            if self._open < self._size:
                return await self._connect(max(deadline - loop.time(), 0.001))
            await self._wait(deadline - loop.time())

    async def _connect(self, timeout: float) -> asyncpg.Connection:
        self._open += 1
        try:
            return await asyncpg.connect(self._dsn, timeout=timeout, command_timeout=self._command_timeout)
        except BaseException:
            self._open -= 1
            self._wake()
            raise

    async def _wait(self, timeout: float) -> None:
        if timeout <= 0:
            raise TimeoutError(f"no free PostgreSQL connection among {self._size}")
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(waiter, timeout)
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self._wake()  # woken but leaving (timeout, cancellation): pass the turn on
            raise
        finally:
            with contextlib.suppress(ValueError):
                self._waiters.remove(waiter)

    def release(self, conn: asyncpg.Connection, *, discard: bool = False) -> None:
        """Give back a connection; ``discard`` (or a closed one, or one inside a transaction) closes it."""
        if discard or self.closed or conn.is_closed() or conn.is_in_transaction():
            conn.terminate()
            self._open -= 1
        else:
            self._idle.append(conn)
        self._wake()

    def expire_idle(self) -> None:
        """Close every idle connection: after one died, the others likely did too."""
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.terminate()
        self._open -= len(idle)

    def _wake(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def close(self) -> None:
        """Close idle connections now, busy ones when they are released."""
        self.closed = True
        idle, self._idle = self._idle, []
        self._open -= len(idle)
        for conn in idle:
            with contextlib.suppress(Exception):
                await conn.close(timeout=1)
        while self._waiters:
            self._wake()


class Borrowed:
    """The context of one borrowed connection. A cancellation, a timeout or a lost connection
    leaves the connection in doubt: it is closed instead of reused."""

    DOUBT = (
        asyncio.CancelledError,
        TimeoutError,
        OSError,
        asyncpg.InterfaceError,
        asyncpg.PostgresConnectionError,
        asyncpg.exceptions.InternalClientError,
        asyncpg.exceptions.AdminShutdownError,
        asyncpg.exceptions.ReadOnlySQLTransactionError,
    )  # its session may have begun read-only: a new one may not

    def __init__(self, pool: ConnectionPool, timeout: float) -> None:
        self._pool, self._timeout = pool, timeout
        self._conn: asyncpg.Connection | None = None

    async def __aenter__(self) -> asyncpg.Connection:
        self._conn = await self._pool.acquire(self._timeout)
        return self._conn

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._conn is not None
        self._pool.release(self._conn, discard=isinstance(exc, self.DOUBT))
