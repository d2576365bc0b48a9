"""The embedded store: one SQLite file in WAL mode, three connections, each owned by one thread.

Why this shape (figures measured on this machine with 1,000,000 rows):

- **Hot-path reads run synchronously on the event loop thread** (``find_suppressions``,
  ``find_soft_streaks``, ``get_suppression``, ``verify_api_key``, ``ping``) on a dedicated read
  connection; the first two ask a key filter first (``_KeyFeed``), so most never reach SQLite. A point
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

Only this module and ``sqlite_sql.py`` (its SQL text and row conversions) know ``sqlite3``;
its errors leave as ``StoreUnavailable``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from validator.bounces.plan import Decision, EventCount, FactRecord, RolledBack
from validator.bounces.policy import LearningPolicy
from validator.errors import Conflict, StoreReadOnly, StoreUnavailable
from validator.model import (
    ApiKey,
    AuditEntry,
    SoftStreak,
    Suppression,
    SuppressionEntry,
    SuppressionKind,
    SuppressionReason,
)
from validator.store import event_reads, records
from validator.store.base import StoreBase
from validator.store.keyfilter import KeyFilter
from validator.store.schema import MIGRATIONS, SCHEMA_MIGRATIONS_SQLITE, Migration, pending
from validator.store.sqlite import bounces as bounce_sqlite
from validator.store.sqlite.jobs import SqliteJobs
from validator.store.sqlite.sql import (
    CHUNK,
    COLUMNS,
    EPOCH,
    KEY_COLUMNS,
    LIVE,
    POINT_SQL,
    READ_BUSY_MS,
    api_key,
    as_row,
    connect,
    from_us,
    in_transaction,
    insert_audit,
    probe_write,
    select_keys,
    suppression,
    to_us,
    translated,
    unavailable,
)

T = TypeVar("T")
log = logging.getLogger("validator.store")
FILTER_PULL_MAX = 5000  # new keys read on the loop at a snapshot renewal; more: rebuild off the loop
SNAPSHOT_SECONDS = 0.5  # the oldest read snapshot the loop's lookups use (see SqliteStore._reader)


class _KeyFeed:
    """A ``KeyFilter`` of every key one lookup may find, kept current through ids that only grow,
    in commit order (one writer at a time): ``pull`` on the loop at each snapshot renewal,
    ``build`` on the scan thread at start and when a pull finds too much.

    ``recent_sql``: (id, key) rows after an id, by id, with a limit; ``size_sql``: (key count,
    highest id); ``keys_sql``: every key. Keys left behind by deletions only cost a wasted lookup.
    """

    def __init__(self, recent_sql: str, size_sql: str, keys_sql: str) -> None:
        self._recent, self._size, self._keys = recent_sql, size_sql, keys_sql
        self.filter: KeyFilter | None = None  # None: not built (every lookup goes to SQLite)
        self.last_id = 0

    def pull(self, conn: sqlite3.Connection) -> bool:
        """Add the keys stored since the last look; False when they are too many for the loop (the
        filter is dropped: the caller rebuilds it)."""
        if self.filter is None:
            return True
        rows = conn.execute(self._recent, (self.last_id, FILTER_PULL_MAX + 1)).fetchall()
        if len(rows) > FILTER_PULL_MAX or self.filter.count + len(rows) > self.filter.capacity:
            self.filter = None
            return False
        if rows:
            self.filter.update(key for _, key in rows if key)
            self.last_id = rows[-1][0]
        return True

    def build(self, conn: sqlite3.Connection) -> tuple[KeyFilter, int]:
        """A new filter sized for twice the keys, and the id it is current to (one snapshot)."""
        with translated():
            conn.execute("BEGIN")
            try:
                count, last = conn.execute(self._size).fetchone()
                keys = KeyFilter(max(2 * count, 1 << 16))
                keys.update(key for (key,) in conn.execute(self._keys) if key)
            finally:
                conn.execute("COMMIT")
            return keys, last


def _suppression_feed() -> _KeyFeed:
    return _KeyFeed(
        "SELECT id, value FROM suppressions WHERE id > ? ORDER BY id LIMIT ?",
        "SELECT count(*), coalesce(max(id), 0) FROM suppressions",
        "SELECT value FROM suppressions",
    )


def _streak_feed() -> _KeyFeed:
    """Addresses with an open soft-bounce streak. Only ingestion writes a streak, and always with
    a delivery event of the same address in the same transaction; events are never deleted, so
    their ids serve as the feed's (a superset of the streak addresses: a wasted lookup at worst)."""
    return _KeyFeed(
        "SELECT id, address FROM delivery_events WHERE id > ? ORDER BY id LIMIT ?",
        "SELECT (SELECT count(*) FROM soft_streaks), (SELECT coalesce(max(id), 0) FROM delivery_events)",
        "SELECT address FROM soft_streaks",
    )


class SqliteStore(SqliteJobs, StoreBase):
    """The ``Store`` on a SQLite file. Open with ``await SqliteStore.open(path)``."""

    def __init__(self, path: Path, timeout: float, key_cache_ttl: float, clock: Callable[[], datetime]) -> None:
        super().__init__(clock, key_cache_ttl)
        self.path, self._closed, self._timeout, self._busy_ms = path, False, timeout, int(timeout * 1000)
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="store-writer")
        self._scanner = ThreadPoolExecutor(1, thread_name_prefix="store-scan")
        self._builder = ThreadPoolExecutor(1, thread_name_prefix="store-filter")  # scans stay unqueued behind a build
        self._wconn: sqlite3.Connection | None = None  # used by the writer thread only
        self._rconn: sqlite3.Connection | None = None  # used by the event loop thread only
        self._stale, self._snapshot_until = True, 0.0  # the reader's snapshot (see _reader)
        self._suppression_keys, self._streak_keys = _suppression_feed(), _streak_feed()  # see keyfilter.py
        self._rebuilds: set[asyncio.Future[None]] = set()
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
    ) -> SqliteStore:
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
                store._rconn = connect(path, READ_BUSY_MS, "query_only = 1", "cache_size = -65536")
                store._sconn = connect(path, store._busy_ms, "query_only = 1")
                store._bconn = connect(path, store._busy_ms, "query_only = 1") if key_filters else None
            for feed in (store._suppression_keys, store._streak_keys) if key_filters else ():
                store._rebuild(feed)
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
        """Bring the key filters up to date. A few thousand keys are read here; more (a big import
        or ingest by another process) would stall the loop, so that filter is dropped (its lookups
        go to SQLite) and rebuilt on the scan thread."""
        for feed in (self._suppression_keys, self._streak_keys):
            if not feed.pull(conn):
                self._rebuild(feed)

    def _rebuild(self, feed: _KeyFeed) -> None:
        rebuild = asyncio.ensure_future(self._build(feed))
        self._rebuilds.add(rebuild)
        rebuild.add_done_callback(self._rebuilds.discard)

    @property
    def key_filters_building(self) -> int:
        """Key filters still being built: their lookups go to SQLite meanwhile (same answers, slower)."""
        return len(self._rebuilds)

    async def _build(self, feed: _KeyFeed) -> None:
        """Build on the filter thread, then take over on the loop: the filter holds every key up to
        the id of its build's snapshot, and the next snapshot renewal pulls the keys written since
        (ids only grow, in commit order), before any lookup asks it."""
        started = time.monotonic()
        try:
            built, last_id = await self._in(self._builder, feed.build, self._bconn)
        except StoreUnavailable:
            return  # lookups stay correct without it; the next open tries again
        feed.filter, feed.last_id = built, last_id
        self._stale = True  # the next lookup renews its snapshot, pulling what was written while building
        log.info("key filter built: %d keys in %.2f s", built.count, time.monotonic() - started)

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

    # --- suppressions: the hot path, on the loop -------------------------------------------

    async def find_suppressions(self, addresses: Sequence[str], domains: Sequence[str] = ()) -> dict[str, Suppression]:
        conn = self._reader()  # first: renewing the snapshot also brings the key filter up to date
        keys = self._suppression_keys.filter
        if keys is not None:  # only keys the filter cannot rule out need SQLite
            addresses = [a for a in addresses if keys.might_contain(a)]
            domains = [d for d in domains if keys.might_contain(d)]
            if not addresses and not domains:
                return {}
        now_us = to_us(self._clock())
        if len(addresses) <= 1 and len(domains) <= 1:  # one validation: at most two index probes
            try:
                rows = conn.execute(
                    POINT_SQL, (addresses[0] if addresses else "", now_us, domains[0] if domains else "", now_us)
                ).fetchall()
            except sqlite3.Error as exc:
                self._stale = True
                raise unavailable(exc) from exc
            return {row[1]: suppression(row) for row in rows}
        addresses, domains = records.unique(addresses), records.unique(domains)
        found: dict[str, Suppression] = {}
        for start in range(0, max(len(addresses), len(domains)), CHUNK):
            if start:
                await asyncio.sleep(0)  # let other requests run between bounded chunks
            try:
                entries = select_keys(
                    self._reader(), addresses[start : start + CHUNK], domains[start : start + CHUNK], now_us
                )
            except sqlite3.Error as exc:
                raise unavailable(exc) from exc
            for entry in entries:
                found[entry.value] = entry
        return found

    async def get_suppression(self, kind: SuppressionKind, value: str) -> Suppression | None:
        rows = self._read(
            f"SELECT {COLUMNS} FROM suppressions WHERE kind = ? AND value = ? AND {LIVE}",
            (SuppressionKind(kind).value, value, to_us(self._clock())),
        )
        return suppression(rows[0]) if rows else None

    # --- suppressions: writes, on the writer thread ----------------------------------------

    async def _put_batch(self, entries: list[SuppressionEntry], actor: str, why: str | None) -> records.WritePlan:
        return await self._write(self._apply, entries, actor, why)

    def _apply(
        self, conn: sqlite3.Connection, entries: list[SuppressionEntry], actor: str, why: str | None
    ) -> records.WritePlan:
        now, stored = self._clock(), {}
        keys = {records.key_of(e) for e in entries}
        addresses = [v for k, v in keys if k == SuppressionKind.ADDRESS]
        domains = [v for k, v in keys if k == SuppressionKind.DOMAIN]
        for i in range(0, max(len(addresses), len(domains)), CHUNK):
            found = select_keys(conn, addresses[i : i + CHUNK], domains[i : i + CHUNK], None)
            stored.update((records.key_of(s), s) for s in found)
        plan = records.plan_puts(entries, stored, actor=actor, why=why, now=now)
        if plan.inserts:
            last = conn.execute(
                "UPDATE counters SET value = value + ? WHERE name = 'suppression_id' RETURNING value",
                (len(plan.inserts),),
            ).fetchone()[0]
            conn.executemany(
                f"INSERT INTO suppressions ({COLUMNS}, id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(*as_row(s), last - len(plan.inserts) + 1 + i) for i, s in enumerate(plan.inserts)],
            )
        if plan.updates:
            conn.executemany(
                "UPDATE suppressions SET reason = ?, source = ?, detail = ?, created_at = ?,"
                " updated_at = ?, expires_at = ? WHERE kind = ? AND value = ?",
                [(*as_row(s)[2:], s.kind.value, s.value) for s in plan.updates],
            )
        insert_audit(conn, plan.audit)
        return plan

    async def delete_suppression(
        self, kind: SuppressionKind, value: str, *, actor: str, why: str | None = None
    ) -> Suppression | None:
        def delete(conn: sqlite3.Connection) -> Suppression | None:
            now = self._clock()
            rows = conn.execute(
                f"DELETE FROM suppressions WHERE kind = ? AND value = ? RETURNING {COLUMNS}",
                (SuppressionKind(kind).value, value),
            ).fetchall()
            if not rows:
                return None
            old = suppression(rows[0])
            insert_audit(conn, [records.deletion_audit(old, actor=actor, why=why, now=now)])
            return None if old.expired(now) else old

        return await self._write(delete)

    # --- suppressions: scans, on the scan thread -------------------------------------------

    async def _page(
        self,
        after: int,
        limit: int,
        kind: SuppressionKind | None,
        reason: SuppressionReason | None,
        source: str | None,
        since: datetime | None,
    ) -> list[tuple[Suppression, int]]:
        where, params = ["id > ?", LIVE], [after, to_us(self._clock())]
        for column, op, value in records.filters(kind, reason, source, since):
            where.append(f"{column} {op} ?")
            params.append(to_us(value) if isinstance(value, datetime) else value)
        rows = await self._scan(
            f"SELECT {COLUMNS}, id FROM suppressions WHERE {' AND '.join(where)} ORDER BY id LIMIT ?", (*params, limit)
        )
        return [(suppression(row), row[8]) for row in rows]

    async def audit_trail(self, kind: SuppressionKind, value: str) -> list[AuditEntry]:
        rows = await self._scan(
            f"SELECT {records.AUDIT_COLUMNS} FROM suppression_audit WHERE kind = ? AND value = ? ORDER BY id",
            (SuppressionKind(kind).value, value),
        )
        return [records.audit_entry(row, EPOCH + timedelta(microseconds=row[5])) for row in rows]

    # --- API keys ----------------------------------------------------------------------------

    async def _insert_key(self, key: ApiKey, secret_sha256: bytes) -> None:
        def insert(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(
                    f"INSERT INTO api_keys ({KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, NULL, NULL)",
                    (key.id, key.name, " ".join(sorted(key.scopes)), secret_sha256, to_us(key.created_at)),
                )
            except sqlite3.IntegrityError as exc:
                raise Conflict(f"an active API key is already named {key.name!r}", field="name") from exc

        await self._write(insert)

    async def _fetch_key(self, key_id: str) -> tuple[ApiKey, bytes] | None:
        rows = self._read(f"SELECT {KEY_COLUMNS} FROM api_keys WHERE id = ?", (key_id,))
        return (api_key(rows[0]), rows[0][3]) if rows else None

    async def _touch_key(self, key_id: str, now: datetime) -> None:
        await self._write(
            lambda conn: conn.execute("UPDATE api_keys SET last_used_at = ? WHERE id = ?", (to_us(now), key_id))
        )

    async def list_api_keys(self) -> list[ApiKey]:
        return [api_key(row) for row in await self._scan(f"SELECT {KEY_COLUMNS} FROM api_keys ORDER BY created_at, id")]

    async def _revoke_key(self, id_or_name: str, now: datetime) -> list[str]:
        def revoke(conn: sqlite3.Connection) -> list[str]:
            for column in ("id", "name"):  # an id wins over a name that happens to look like one
                rows = conn.execute(
                    f"UPDATE api_keys SET revoked_at = ? WHERE {column} = ? AND revoked_at IS NULL RETURNING id",
                    (to_us(now), id_or_name),
                ).fetchall()
                if rows:
                    return [r[0] for r in rows]
            return []

        return await self._write(revoke)

    # --- bounce ingestion --------------------------------------------------------------------

    async def ingest_facts(
        self, records_: Sequence[FactRecord], policy: LearningPolicy, *, actor: str, dry_run: bool = False
    ) -> list[Decision]:
        if not records_:
            return []

        def run(conn: sqlite3.Connection) -> list[Decision]:
            decisions = bounce_sqlite.ingest(
                conn, records_, policy, self._clock(), lambda c, entries: self._apply(c, entries, actor, None)
            )
            if dry_run:
                raise RolledBack(decisions)
            return decisions

        try:
            return await self._write(run)
        except RolledBack as undone:
            return undone.decisions

    async def find_validation_facts(
        self, addresses: Sequence[str], domains: Sequence[str] = ()
    ) -> tuple[dict[str, Suppression], dict[str, SoftStreak]]:
        return await self.find_suppressions(addresses, domains), await self.find_soft_streaks(addresses)

    async def find_soft_streaks(self, addresses: Sequence[str]) -> dict[str, SoftStreak]:
        conn = self._reader()  # first: renewing the snapshot also brings the filter up to date
        keys = self._streak_keys.filter
        if keys is not None:  # almost no address has a streak: most lookups end here
            addresses = [a for a in addresses if keys.might_contain(a)]
            if not addresses:
                return {}
        with translated():
            return bounce_sqlite.find_streaks(conn, addresses)

    async def count_events(
        self,
        *,
        campaign_id: str | None = None,
        sender: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> tuple[list[EventCount], int]:
        def run() -> tuple[list[EventCount], int]:
            with translated():
                return bounce_sqlite.count_events(self._sconn, (campaign_id, sender, since, until))  # type: ignore[arg-type]

        return await self._in(self._scanner, run)

    async def list_campaigns(self) -> list[event_reads.CampaignSummary]:
        rows = await self._scan(event_reads.CAMPAIGNS_SQL, (event_reads.CAMPAIGNS_MAX,))
        return [event_reads.campaign_summary(row, from_us) for row in rows]  # type: ignore[arg-type]

    async def list_events(
        self, campaign_id: str | None, before_id: int | None, limit: int
    ) -> list[event_reads.StoredEvent]:
        sql, params = event_reads.events_query(campaign_id, before_id, limit)
        return [event_reads.stored_event(row, from_us) for row in await self._scan(sql, params)]  # type: ignore[arg-type]

    async def record_probe_accepts(self, accepted: Sequence[tuple[str, str]]) -> None:
        if accepted:
            now = to_us(self._clock())
            await self._write(
                lambda conn: conn.executemany(
                    "INSERT OR REPLACE INTO probe_accepts VALUES (?, ?, ?)", [(a, d, now) for a, d in accepted]
                )
            )

    async def probe_disagreements(self, domains: Sequence[str]) -> dict[str, int]:
        return (
            dict(
                self._read(
                    f"SELECT domain, hard_bounces FROM domain_disagreements WHERE domain IN"
                    f" ({', '.join('?' * len(domains))})",
                    list(domains),
                )
            )
            if domains
            else {}
        )

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
        for rebuild in self._rebuilds:
            rebuild.cancel()
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
