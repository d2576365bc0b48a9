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
Only this module knows asyncpg: its errors leave as ``StoreUnavailable``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import datetime
from typing import Any, TypeVar

import asyncpg

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
from validator.store.postgres import bounces as bounce_postgres
from validator.store.postgres.jobs import PostgresJobs
from validator.store.postgres.pool import ConnectionPool
from validator.store.schema import SCHEMA_MIGRATIONS_POSTGRES, pending

T = TypeVar("T")
COLUMNS = "kind, value, reason, source, detail, created_at, updated_at, expires_at"
KEY_COLUMNS = "id, name, scopes, secret_sha256, created_at, revoked_at, last_used_at"
LIVE = "(expires_at IS NULL OR expires_at > $3)"
ANALYZE_MIN = 10_000  # ANALYZE after this many inserted rows, or half the table if larger
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
_KINDS = {k.value: k for k in SuppressionKind}
_REASONS = {r.value: r for r in SuppressionReason}


def suppression(row: Sequence[Any]) -> Suppression:
    return Suppression(_KINDS[row[0]], row[1], _REASONS[row[2]], row[3], row[4], row[5], row[6], row[7])


def as_row(s: Suppression) -> tuple[Any, ...]:
    return (s.kind.value, s.value, s.reason.value, s.source, s.detail, s.created_at, s.updated_at, s.expires_at)


def api_key(row: Sequence[Any]) -> ApiKey:
    return ApiKey(row[0], row[1], frozenset(row[2].split()), row[4], row[5], row[6])


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


async def insert_audit(conn: asyncpg.Connection, rows: list[records.AuditRow]) -> None:
    if rows:
        await conn.executemany(
            "INSERT INTO suppression_audit (kind, value, action, actor, at, why, before, after)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            [(a.kind, a.value, a.action, a.actor, a.at, a.why, a.before, a.after) for a in rows],
        )


class _NotStarted(Exception):
    """The connection failed before the transaction began: safe to retry."""


class _Contended(Exception):
    """Another transaction inserted one of our new keys first: roll back and plan again."""


class PostgresStore(PostgresJobs, StoreBase):
    """The ``Store`` on PostgreSQL. Open with ``await PostgresStore.open(dsn)``."""

    def __init__(
        self, pool: ConnectionPool, timeout: float, key_cache_ttl: float, clock: Callable[[], datetime]
    ) -> None:
        super().__init__(clock, key_cache_ttl)
        self._pool, self._timeout = pool, timeout
        self._inserted, self._analyze_at = 0, ANALYZE_MIN  # rows inserted since the last ANALYZE, and when next

    @classmethod
    async def open(
        cls,
        dsn: str,
        *,
        timeout: float = 5.0,
        key_cache_ttl: float = 5.0,
        pool_size: int = 10,
        clock: Callable[[], datetime] = records.utc_now,
    ) -> PostgresStore:
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
            except _NotStarted as exc:
                dead += 1
                if dead == 2:
                    raise StoreUnavailable(f"PostgreSQL store unavailable: {exc.__cause__}") from exc.__cause__
            except _Contended as exc:
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
                    raise _NotStarted() from exc
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

    # --- suppressions: reads ----------------------------------------------------------------

    async def find_suppressions(self, addresses: Sequence[str], domains: Sequence[str] = ()) -> dict[str, Suppression]:
        return (await self.find_validation_facts(addresses, domains, streaks=False))[0]

    async def find_validation_facts(
        self, addresses: Sequence[str], domains: Sequence[str] = (), *, streaks: bool = True
    ) -> tuple[dict[str, Suppression], dict[str, SoftStreak]]:
        """One statement, one round trip (95 µs per validation in process, against 190 µs for two):
        the live entries of these keys, and with ``streaks`` the open streaks of the addresses, as
        rows with an empty ``kind``."""
        addresses, domains = records.unique(addresses), records.unique(domains)
        parts = [(kind, values) for kind, values in (("address", addresses), ("domain", domains)) if values]
        if not parts:
            return {}, {}
        # Only the kinds asked for, and `value = $n` for a single key: when the statistics say domain
        # entries are few (they are), the plan for `kind = 'domain' AND value = ANY($n)` reads every
        # domain row by kind and filters on value: 1,000 domain rows made a validation cost 835 µs.
        selects = [
            f"SELECT {COLUMNS}, NULL::integer, NULL::timestamptz, NULL::timestamptz FROM suppressions"
            f" WHERE kind = '{kind}' AND value {f'= ${n}' if len(values) == 1 else f'= ANY(${n}::text[])'}"
            " AND (expires_at IS NULL OR expires_at > $1)"
            for n, (kind, values) in enumerate(parts, 2)
        ]
        args: list[Any] = [values[0] if len(values) == 1 else values for _, values in parts]
        if streaks and addresses:
            selects.append(
                f"SELECT NULL, address, NULL, NULL, NULL, NULL, NULL, NULL, sends, first_at, last_at"
                f" FROM soft_streaks WHERE address = ANY(${len(args) + 2}::text[])"
            )
            args.append(addresses)
        found, open_streaks = {}, {}
        for row in await self._fetch(" UNION ALL ".join(selects), self._clock(), *args):
            if row[0] is None:
                open_streaks[row[1]] = SoftStreak(row[8], row[9], row[10])
            else:
                found[row[1]] = suppression(row)
        return found, open_streaks

    async def get_suppression(self, kind: SuppressionKind, value: str) -> Suppression | None:
        rows = await self._fetch(
            f"SELECT {COLUMNS} FROM suppressions WHERE kind = $1 AND value = $2 AND {LIVE}",
            SuppressionKind(kind).value,
            value,
            self._clock(),
        )
        return suppression(rows[0]) if rows else None

    # --- suppressions: writes ---------------------------------------------------------------

    async def _put_batch(self, entries: list[SuppressionEntry], actor: str, why: str | None) -> records.WritePlan:
        plan = await self._transaction(lambda conn: self._apply(conn, entries, actor, why))
        self._inserted += len(plan.inserts)
        if self._inserted >= self._analyze_at:
            await self._analyze()
        return plan

    async def _analyze(self) -> None:
        """Refresh the planner's statistics after a large import. Without them (autovacuum may take
        a minute) PostgreSQL 15 read ``value = ANY($1)`` over 1,000,000 fresh rows with a bitmap scan
        of every ``kind = 'address'`` row: 580 ms per 1,000 addresses instead of 12 ms."""
        self._inserted = 0
        await self._fetch("ANALYZE suppressions")
        rows = await self._fetch("SELECT reltuples FROM pg_class WHERE oid = 'suppressions'::regclass")
        self._analyze_at = max(ANALYZE_MIN, int(rows[0][0] * 0.5))

    async def _apply(
        self, conn: asyncpg.Connection, entries: list[SuppressionEntry], actor: str, why: str | None
    ) -> records.WritePlan:
        now = self._clock()
        kinds, values = zip(*{records.key_of(e) for e in entries}, strict=True)
        rows = await conn.fetch(
            f"SELECT {COLUMNS} FROM suppressions WHERE (kind, value) IN"
            " (SELECT * FROM unnest($1::text[], $2::text[])) FOR UPDATE",
            kinds,
            values,
        )
        stored = {(row[0], row[1]): suppression(row) for row in rows}
        plan = records.plan_puts(entries, stored, actor=actor, why=why, now=now)
        if plan.inserts:  # waits for a concurrent insert of the same key to end, then skips it
            inserted = await conn.fetch(
                f"INSERT INTO suppressions ({COLUMNS}) SELECT * FROM unnest($1::text[], $2::text[], $3::text[],"
                " $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[], $8::timestamptz[])"
                " ON CONFLICT (kind, value) DO NOTHING RETURNING kind",
                *zip(*map(as_row, plan.inserts), strict=True),
            )
            if len(inserted) != len(plan.inserts):
                raise _Contended()
        if plan.updates:
            await conn.executemany(
                "UPDATE suppressions SET reason = $3, source = $4, detail = $5, created_at = $6,"
                " updated_at = $7, expires_at = $8 WHERE kind = $1 AND value = $2",
                [as_row(s) for s in plan.updates],
            )
        await insert_audit(conn, plan.audit)
        return plan

    async def delete_suppression(
        self, kind: SuppressionKind, value: str, *, actor: str, why: str | None = None
    ) -> Suppression | None:
        async def delete(conn: asyncpg.Connection) -> Suppression | None:
            now = self._clock()
            row = await conn.fetchrow(
                f"DELETE FROM suppressions WHERE kind = $1 AND value = $2 RETURNING {COLUMNS}",
                SuppressionKind(kind).value,
                value,
            )
            if row is None:
                return None
            old = suppression(row)
            await insert_audit(conn, [records.deletion_audit(old, actor=actor, why=why, now=now)])
            return None if old.expired(now) else old

        return await self._transaction(delete)

    # --- suppressions: pages and the audit trail --------------------------------------------

    async def _page(
        self,
        after: int,
        limit: int,
        kind: SuppressionKind | None,
        reason: SuppressionReason | None,
        source: str | None,
        since: datetime | None,
    ) -> list[tuple[Suppression, int]]:
        where, params = ["id > $1", LIVE], [after, limit, self._clock()]
        for column, op, value in records.filters(kind, reason, source, since):
            params.append(value)
            where.append(f"{column} {op} ${len(params)}")
        rows = await self._fetch(
            f"SELECT {COLUMNS}, id FROM suppressions WHERE {' AND '.join(where)} ORDER BY id LIMIT $2", *params
        )
        return [(suppression(row), row[8]) for row in rows]

    async def audit_trail(self, kind: SuppressionKind, value: str) -> list[AuditEntry]:
        rows = await self._fetch(
            f"SELECT {records.AUDIT_COLUMNS} FROM suppression_audit WHERE kind = $1 AND value = $2 ORDER BY id",
            SuppressionKind(kind).value,
            value,
        )
        return [records.audit_entry(row, row[5]) for row in rows]

    # --- API keys ----------------------------------------------------------------------------

    async def _insert_key(self, key: ApiKey, secret_sha256: bytes) -> None:
        async def insert(conn: asyncpg.Connection) -> None:
            try:
                await conn.execute(
                    f"INSERT INTO api_keys ({KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, NULL, NULL)",
                    key.id,
                    key.name,
                    " ".join(sorted(key.scopes)),
                    secret_sha256,
                    key.created_at,
                )
            except asyncpg.UniqueViolationError as exc:
                raise Conflict(f"an active API key is already named {key.name!r}", field="name") from exc

        await self._transaction(insert)

    async def _fetch_key(self, key_id: str) -> tuple[ApiKey, bytes] | None:
        rows = await self._fetch(f"SELECT {KEY_COLUMNS} FROM api_keys WHERE id = $1", key_id)
        return (api_key(rows[0]), rows[0][3]) if rows else None

    async def _touch_key(self, key_id: str, now: datetime) -> None:
        await self._write_one("UPDATE api_keys SET last_used_at = $2 WHERE id = $1", key_id, now)

    async def list_api_keys(self) -> list[ApiKey]:
        return [api_key(r) for r in await self._fetch(f"SELECT {KEY_COLUMNS} FROM api_keys ORDER BY created_at, id")]

    async def _revoke_key(self, id_or_name: str, now: datetime) -> list[str]:
        async def revoke(conn: asyncpg.Connection) -> list[str]:
            for column in ("id", "name"):  # an id wins over a name that happens to look like one
                rows = await conn.fetch(
                    f"UPDATE api_keys SET revoked_at = $2 WHERE {column} = $1 AND revoked_at IS NULL RETURNING id",
                    id_or_name,
                    now,
                )
                if rows:
                    return [r[0] for r in rows]
            return []

        return await self._transaction(revoke)

    # --- bounce ingestion --------------------------------------------------------------------

    async def ingest_facts(
        self, records_: Sequence[FactRecord], policy: LearningPolicy, *, actor: str, dry_run: bool = False
    ) -> list[Decision]:
        if not records_:
            return []

        async def run(conn: asyncpg.Connection) -> list[Decision]:
            async def put(c: asyncpg.Connection, entries: list[SuppressionEntry]) -> object:
                return await self._apply(c, entries, actor, None)

            decisions = await bounce_postgres.ingest(conn, records_, policy, self._clock(), put, _Contended)
            if dry_run:
                raise RolledBack(decisions)
            return decisions

        try:
            return await self._transaction(run)
        except RolledBack as undone:
            return undone.decisions

    async def find_soft_streaks(self, addresses: Sequence[str]) -> dict[str, SoftStreak]:
        if not addresses:
            return {}
        rows = await self._fetch(
            "SELECT address, sends, first_at, last_at FROM soft_streaks WHERE address = ANY($1::text[])",
            list(addresses),
        )
        return {row[0]: SoftStreak(row[1], row[2], row[3]) for row in rows}

    async def count_events(
        self,
        *,
        campaign_id: str | None = None,
        sender: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> tuple[list[EventCount], int]:
        async def run(conn: asyncpg.Connection) -> tuple[list[EventCount], int]:
            return await bounce_postgres.count_events(conn, (campaign_id, sender, since, until))

        return await self._transaction(run)

    async def list_campaigns(self) -> list[event_reads.CampaignSummary]:
        rows = await self._fetch(event_reads.numbered(event_reads.CAMPAIGNS_SQL), event_reads.CAMPAIGNS_MAX)
        return [event_reads.campaign_summary(row, lambda t: t) for row in rows]

    async def list_events(
        self, campaign_id: str | None, before_id: int | None, limit: int
    ) -> list[event_reads.StoredEvent]:
        sql, params = event_reads.events_query(campaign_id, before_id, limit)
        return [
            event_reads.stored_event(row, lambda t: t) for row in await self._fetch(event_reads.numbered(sql), *params)
        ]

    async def record_probe_accepts(self, accepted: Sequence[tuple[str, str]]) -> None:
        if not accepted:
            return

        async def run(conn: asyncpg.Connection) -> None:
            addresses, domains = zip(*sorted(dict(accepted).items()), strict=True)
            await conn.execute(
                "INSERT INTO probe_accepts SELECT a, d, $3 FROM unnest($1::text[], $2::text[]) AS t(a, d)"
                " ON CONFLICT (address) DO UPDATE SET at = $3",
                list(addresses),
                list(domains),
                self._clock(),
            )

        await self._transaction(run)

    async def probe_disagreements(self, domains: Sequence[str]) -> dict[str, int]:
        if not domains:
            return {}
        rows = await self._fetch(
            "SELECT domain, hard_bounces FROM domain_disagreements WHERE domain = ANY($1::text[])", list(domains)
        )
        return {row[0]: row[1] for row in rows}

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
