"""The embedded store: one SQLite file in WAL mode, three connections, each owned by one thread.

Why this shape (figures measured on this machine with 1,000,000 rows):

- **Hot-path reads run synchronously on the event loop thread** (``find_suppressions``,
  ``find_soft_streaks``, ``get_suppression``, ``verify_api_key``, ``ping``) on a dedicated read
  connection; the first two ask a key filter first (``keyfilters.py``), so most never reach SQLite. A point
  lookup costs a few µs in ``sqlite3`` but 35-80 µs through a thread hop (aiosqlite), and a
  batched ``IN (...)`` a few µs per address; a hop would cost more than the query. They stay
  short and bounded: indexed lookups only, at most ``CHUNK`` keys per statement, a yield to the
  loop between chunks, and a short busy timeout (WAL readers do not wait for the writer; only
  rare WAL recovery can make them wait). They share a read snapshot renewed every
  ``SNAPSHOT_SECONDS`` (0.5 s) and after each write of this process: inside a snapshot a point
  lookup costs ~5 µs instead of ~10 µs, and another process's write is seen within 0.5 s.
- **Writes run on one dedicated writer thread** (a one-thread executor, its own connection):
  a commit blocks on fsync, which must not stall the loop, and one writer per process makes
  ``BEGIN IMMEDIATE`` transactions queue in order instead of failing with "database is locked".
  Several processes (``VALIDATOR_WORKERS``) wait on each other up to ``timeout`` seconds.
- **Scans run on one scan thread** (list pages, export, audit trail, key listing): they may
  read thousands of rows or filter a whole table, which has no place on the loop.

Durability: ``synchronous=FULL``. A returned write is in the WAL and fsynced, so it survives
``kill -9`` and also power loss. ``NORMAL`` would survive a process crash but could lose the
last commits on power loss; suppressions record unsubscribes and complaints (legal duties), and
writes are rare, off the loop, and batched 1,000 rows per commit on import, so FULL is cheap.

This module holds the connections, threads, snapshot and migrations (``SqliteConnections``);
the methods of each role live beside it (``suppressions.py``, ``api_keys.py``, ``bounces.py``,
``probe_ledger.py``, ``jobs.py``) on top of these primitives. Only this package knows ``sqlite3``;
its errors leave as ``StoreUnavailable`` (``sql.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any, Self, TypeVar

from validator.errors import StoreReadOnly, StoreUnavailable
from validator.store import records
from validator.store.base import StoreBase
from validator.store.migrations import MIGRATIONS, SCHEMA_MIGRATIONS_SQLITE, Migration, pending
from validator.store.sqlite.keyfilters import KeyFilters, key_file_token
from validator.store.sqlite.sql import READ_BUSY_MS, READ_MMAP, connect, in_transaction, probe_write, to_us, translated

T = TypeVar("T")
log = logging.getLogger("validator.store")
SNAPSHOT_SECONDS = 0.5  # the oldest read snapshot the loop's lookups use (see SqliteConnections._reader)


class SqliteConnections(StoreBase):
    """The plumbing every role's methods run on; ``SqliteStore`` composes them. Open with ``await open(path)``."""

    def __init__(self, path: Path, timeout: float, key_cache_ttl: float, clock: Callable[[], datetime]) -> None:
        super().__init__(clock, key_cache_ttl)
        self.path, self._closed, self._timeout, self._busy_ms = path, False, timeout, int(timeout * 1000)
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="store-writer")
        self._scanner = ThreadPoolExecutor(1, thread_name_prefix="store-scan")
        self._builder = ThreadPoolExecutor(1, thread_name_prefix="store-filter")  # scans stay unqueued behind a build
        self._wconn: sqlite3.Connection | None = None  # used by the writer thread only
        self._rconn: sqlite3.Connection | None = None  # used by the event loop thread only
        self._stale, self._snapshot_until = True, 0.0  # the reader's snapshot (see _reader)
        self._key_filters = KeyFilters(path)  # in use once started (see open)
        self._suppression_keys, self._streak_keys = self._key_filters.suppressions, self._key_filters.streaks
        self._release: asyncio.TimerHandle | None = None  # ends an idle snapshot (see _end_snapshot)
        self._sconn: sqlite3.Connection | None = None  # used by the scan thread only
        self._bconn: sqlite3.Connection | None = None  # used by the filter-building thread only
        self._read_only: StoreReadOnly | None = None  # set while the database refuses writes (see _check_writable)

    @classmethod
    async def open(
        cls,
        path: Path,
        *,
        timeout: float = 5.0,
        key_cache_ttl: float = 5.0,
        clock: Callable[[], datetime] = records.utc_now,
        key_filters: bool = True,
    ) -> Self:
        """``key_filters``: build the key filters, in the background (a full scan: 10 s at 5M
        suppressions, and start-up must not wait for it; until each is built its lookups go to
        SQLite, with the same answers). False for a process whose lookups are few or in bulk (the
        job child): it then holds no filter at all."""
        store = cls(path, timeout, key_cache_ttl, clock)
        try:
            with translated():
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise StoreUnavailable(f"cannot create the directory of {path}: {exc}") from exc
                store._wconn = connect(path, store._busy_ms, "journal_mode = WAL", "synchronous = FULL")
                await store._in(store._writer, store._migrate, store._wconn)
                await store._in(store._writer, store._check_writable)
                store._rconn = connect(path, READ_BUSY_MS, "query_only = 1", "cache_size = -65536", READ_MMAP)
                store._sconn = connect(path, store._busy_ms, "query_only = 1")
                store._bconn = (  # a key filter scan reads each page once: a small page cache will do
                    connect(path, store._busy_ms, "query_only = 1", "cache_size = -512") if key_filters else None
                )
            token = await store._in(store._writer, key_file_token, store._wconn) if key_filters else None
            if token is not None:
                store._key_filters.start(
                    token,
                    lambda keep: store._in(store._builder, keep, store._bconn),
                    store._builder.submit,
                    store._end_snapshot,  # the next lookup takes a new snapshot, and the filters with it
                )
        except BaseException:
            await store.close()
            raise
        return store

    # --- plumbing: the loop's reader, the scan thread, the writer thread ---------------------

    def _reader(self) -> sqlite3.Connection:
        """The loop's connection, inside a read snapshot at most ``SNAPSHOT_SECONDS`` old.

        An autocommit SELECT opens and closes a WAL read transaction each time (shared-memory
        locks: ~10 µs here); inside a held snapshot the same point lookup costs ~5 µs. The
        snapshot is renewed after every write made through this store, so this process reads
        its own writes at once; other processes' writes are seen within ``SNAPSHOT_SECONDS``.
        """
        conn = self._rconn
        if self._closed or conn is None:
            raise StoreUnavailable("the store is closed")
        now = time.monotonic()
        if self._stale or now >= self._snapshot_until or not conn.in_transaction:
            with translated():
                if conn.in_transaction:
                    conn.execute("COMMIT")
                conn.execute("BEGIN")
                self._pull_new_keys(conn)
            self._stale, self._snapshot_until = False, now + SNAPSHOT_SECONDS
            if self._release is not None:
                self._release.cancel()
            self._release = asyncio.get_running_loop().call_later(SNAPSHOT_SECONDS, self._end_snapshot)
        return conn

    def _end_snapshot(self) -> None:
        """Let go of the loop's read snapshot. Held, it pins the WAL: no checkpoint can pass it, so
        an import with no lookups meanwhile grew the WAL to the import's size (88 MB for 200,000
        rows) and left the database file empty. Ended after each write and when idle."""
        self._stale = True
        conn = self._rconn
        if conn is not None and not self._closed and conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("COMMIT")

    def _pull_new_keys(self, conn: sqlite3.Connection) -> None:
        self._key_filters.pull(conn)  # at most a few thousand keys here (see keyfilters.py)

    @property
    def key_filters_building(self) -> int:
        """Key filters not in use yet (being built, or catching up with a burst of writes): their
        lookups go to SQLite meanwhile (same answers, slower)."""
        return self._key_filters.building

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with translated():
            return self._reader().execute(sql, params).fetchall()

    async def _in(self, executor: ThreadPoolExecutor, fn: Callable[..., T], *args: Any) -> T:
        if self._closed:
            raise StoreUnavailable("the store is closed")
        return await asyncio.get_running_loop().run_in_executor(executor, fn, *args)

    async def _scan(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        def run() -> list[Any]:
            with translated():
                return self._sconn.execute(sql, params).fetchall()  # type: ignore[union-attr]

        return await self._in(self._scanner, run)

    async def _write(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(conn, *args)`` in one transaction on the writer thread, within ``timeout`` seconds
        of this call in all (see ``_write_within``)."""
        self._end_snapshot()  # the writer's checkpoints may pass it
        deadline = time.monotonic() + self._timeout
        try:
            return await self._in(self._writer, self._write_within, deadline, fn, *args)
        finally:
            self._end_snapshot()  # the loop's next read takes a new snapshot that includes this write

    def _write_within(self, deadline: float, fn: Callable[..., T], *args: Any) -> T:
        """On the writer thread: ``fn`` in a transaction if the caller's deadline allows, waiting
        for the write lock only for what is left of it. Writes queue on this one thread, so with
        a fixed busy timeout the n-th write queued behind another process's lock answered after
        n x ``timeout`` (measured with 1 s: 1.0, 2.0 ... 6.0 s for six); now each at 1.0 s."""
        left_ms = int((deadline - time.monotonic()) * 1000)
        if left_ms <= 0:
            raise StoreUnavailable(
                f"SQLite store unavailable: database is locked (waited {self._timeout:g}s behind earlier writes)"
            )
        if self._read_only is not None:
            self._check_writable()
            if self._read_only is not None:
                raise StoreReadOnly(self._read_only.message)
        conn = self._wconn
        assert conn is not None
        with translated():
            conn.execute(f"PRAGMA busy_timeout = {left_ms}")
        try:
            return in_transaction(conn, fn, *args)
        except StoreReadOnly as exc:
            self._read_only = exc
            raise

    def _check_writable(self) -> None:
        """On the writer thread: learn whether the database takes writes (``_read_only``).

        SQLite opens a file it may not write read-only, and that connection stays read-only
        after the file is made writable: so while the store is read-only, each check first
        reopens the writer's connection. Checked at open, before each write while read-only,
        and by ``ping`` (/readyz): fixing the permissions needs no restart."""
        if self._read_only is not None:
            with translated():
                fresh = connect(self.path, self._busy_ms, "journal_mode = WAL", "synchronous = FULL")
            old, self._wconn = self._wconn, fresh
            if old is not None:
                old.close()
        try:
            probe_write(self._wconn)  # type: ignore[arg-type]
        except StoreReadOnly as exc:
            self._read_only = exc
        else:
            self._read_only = None

    def _migrate(self, conn: sqlite3.Connection) -> None:
        with translated():
            mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
            if mode != "wal":
                raise StoreUnavailable(f"SQLite could not enter WAL mode (got {mode!r}) for {self.path}")
            conn.execute(SCHEMA_MIGRATIONS_SQLITE)
        for migration in MIGRATIONS:  # each version in its own transaction, re-checked under the lock

            def apply(conn: sqlite3.Connection, migration: Migration = migration) -> None:
                if migration in pending({v for (v,) in conn.execute("SELECT version FROM schema_migrations")}):
                    for statement in migration.statements("sqlite"):
                        conn.execute(statement)
                    conn.execute(
                        "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                        (migration.version, migration.name, to_us(self._clock())),
                    )

            try:
                in_transaction(conn, apply)
            except StoreReadOnly:  # open for reads if nothing is missing; ping and writes say read-only
                with translated():
                    if pending({v for (v,) in conn.execute("SELECT version FROM schema_migrations")}):
                        raise
                return

    # --- lifecycle ---------------------------------------------------------------------------

    async def ping(self) -> None:
        self._read("SELECT max(version) FROM schema_migrations")
        if self._read_only is not None:
            await self._in(self._writer, self._check_writable)
            if self._read_only is not None:
                raise StoreReadOnly(self._read_only.message)

    async def close(self) -> None:
        if self._closed:
            return
        await self._keys.close()
        self._key_filters.close()
        if self._bconn is not None:
            self._bconn.interrupt()  # a build under way would hold close up for its whole scan
        if self._release is not None:
            self._release.cancel()
        self._closed = True
        loop = asyncio.get_running_loop()
        for executor, conn in ((self._writer, self._wconn), (self._scanner, self._sconn), (self._builder, self._bconn)):
            if conn is not None:  # queued after any pending work: each thread is FIFO
                await loop.run_in_executor(executor, conn.close)
            executor.shutdown(wait=False)
        if self._rconn is not None:
            self._rconn.close()
