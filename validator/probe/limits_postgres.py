"""The prober's shared limits in the PostgreSQL store, for replicas of the service without Redis.

Four small tables beside the store's own (created here if missing, each decision one transaction
serialised per domain or host by a transaction-scoped advisory lock), on the database server's
clock so that replicas agree: ``probe_rate`` (reserved send times, the window of ``ratelimit``),
``probe_leases`` (connection leases that expire unless renewed), ``probe_wanted`` (another replica
waits for a connection to a host) and ``probe_blocks`` (a host's refusal of the prober, until when).

When the database cannot be reached the limits of this process are used instead (logged).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Sequence

import asyncpg

from validator.config import Settings
from validator.probe.limits import LEASE_SECONDS, WANTED_SECONDS, LocalLimits, Refusal, Reservation
from validator.probe.ratelimit import WINDOW, plan_slots

log = logging.getLogger("validator.probe.prober")
_NOW = "extract(epoch from clock_timestamp())::float8"
_SCHEMA = """
SELECT pg_advisory_xact_lock(hashtext('validator probe limits schema'));
CREATE TABLE IF NOT EXISTS probe_rate (slot text PRIMARY KEY, domain text NOT NULL, at float8 NOT NULL);
CREATE INDEX IF NOT EXISTS probe_rate_by_domain ON probe_rate (domain, at);
CREATE TABLE IF NOT EXISTS probe_leases (lease text PRIMARY KEY, host text NOT NULL, expires float8 NOT NULL);
CREATE INDEX IF NOT EXISTS probe_leases_by_host ON probe_leases (host, expires);
CREATE TABLE IF NOT EXISTS probe_wanted (host text PRIMARY KEY, until float8 NOT NULL);
CREATE TABLE IF NOT EXISTS probe_blocks (host text PRIMARY KEY, code int, enhanced text, text text NOT NULL,
                                         until float8 NOT NULL);
"""
_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)


class PostgresLimits:
    shared = True

    def __init__(self, settings: Settings) -> None:
        self._url = settings.database_url
        self._limit = settings.smtp_domain_rate
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()
        self._local = LocalLimits(settings)
        self._warned = False

    async def _db(self) -> asyncpg.Pool:
        async with self._opening:
            if self._pool is None:
                pool = await asyncpg.create_pool(self._url, min_size=1, max_size=4, timeout=2.0, command_timeout=2.0)
                try:
                    async with pool.acquire() as conn, conn.transaction():
                        await conn.execute(_SCHEMA)
                except BaseException:
                    await pool.close()
                    raise
                self._pool = pool
        return self._pool

    async def reserve(self, domain: str, count: int, within: float) -> Reservation | None:
        try:
            async with (await self._db()).acquire() as conn, conn.transaction():
                now = await conn.fetchval(
                    f"SELECT {_NOW} FROM (SELECT pg_advisory_xact_lock(hashtext($1))) AS locked", "probe rate " + domain
                )
                await conn.execute("DELETE FROM probe_rate WHERE domain = $1 AND at <= $2", domain, now - WINDOW)
                times = [
                    row["at"]
                    for row in await conn.fetch("SELECT at FROM probe_rate WHERE domain = $1 ORDER BY at", domain)
                ]
                slots = plan_slots(times, self._limit, count, now, now + max(within, 0.0))
                if slots is None:
                    return None
                names = [secrets.token_hex(8) for _ in slots]
                await conn.executemany(
                    "INSERT INTO probe_rate (slot, domain, at) VALUES ($1, $2, $3)",
                    [(name, domain, at) for name, at in zip(names, slots, strict=True)],
                )
                return Reservation(max(slots) - now, tuple(names))
        except _ERRORS as exc:
            self._degraded(exc)
            return await self._local.reserve(domain, count, within)

    async def release(self, domain: str, reservation: Reservation) -> None:
        names = [slot for slot in reservation.slots if isinstance(slot, str)]
        if not names:
            return await self._local.release(domain, reservation)
        await self._run("DELETE FROM probe_rate WHERE slot = ANY($1::text[])", names)

    async def open_connection(self, host: str, cap: int) -> str | None:
        lease = secrets.token_hex(8)
        try:
            async with (await self._db()).acquire() as conn, conn.transaction():
                now = await conn.fetchval(
                    f"SELECT {_NOW} FROM (SELECT pg_advisory_xact_lock(hashtext($1))) AS locked", "probe host " + host
                )
                await conn.execute("DELETE FROM probe_leases WHERE host = $1 AND expires <= $2", host, now)
                if await conn.fetchval("SELECT count(*) FROM probe_leases WHERE host = $1", host) < cap:
                    await conn.execute(
                        "INSERT INTO probe_leases (lease, host, expires) VALUES ($1, $2, $3)",
                        lease,
                        host,
                        now + LEASE_SECONDS,
                    )
                    return lease
                await conn.execute(
                    "INSERT INTO probe_wanted (host, until) VALUES ($1, $2) ON CONFLICT (host) "
                    "DO UPDATE SET until = excluded.until",
                    host,
                    now + WANTED_SECONDS,
                )
                return None
        except _ERRORS as exc:
            self._degraded(exc)
            return ""  # this process's own cap still holds

    async def close_connection(self, host: str, lease: str) -> None:
        await self._run("DELETE FROM probe_leases WHERE lease = $1", lease)

    async def renew(self, leases: Sequence[tuple[str, str]]) -> None:
        await self._run(
            f"UPDATE probe_leases SET expires = {_NOW} + $2 WHERE lease = ANY($1::text[])",
            [lease for _, lease in leases],
            LEASE_SECONDS,
        )

    async def wanted(self, hosts: Sequence[str]) -> set[str]:
        rows = await self._fetch(
            f"SELECT host FROM probe_wanted WHERE host = ANY($1::text[]) AND until > {_NOW}", list(hosts)
        )
        return {row["host"] for row in rows}

    async def block(self, host: str, refusal: Refusal) -> None:
        await self._run(
            f"INSERT INTO probe_blocks (host, code, enhanced, text, until) VALUES ($1, $2, $3, $4, {_NOW} + $5) "
            "ON CONFLICT (host) DO UPDATE SET code = excluded.code, enhanced = excluded.enhanced, "
            "text = excluded.text, until = excluded.until",
            host,
            refusal.code,
            refusal.enhanced,
            refusal.text,
            refusal.seconds_left,
        )

    async def blocked(self, host: str) -> Refusal | None:
        rows = await self._fetch(
            f"SELECT code, enhanced, text, until - {_NOW} AS left FROM probe_blocks WHERE host = $1 AND until > {_NOW}",
            host,
        )
        return Refusal(rows[0]["code"], rows[0]["enhanced"], rows[0]["text"], rows[0]["left"]) if rows else None

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()

    async def _run(self, sql: str, *args: object) -> None:
        try:
            async with (await self._db()).acquire() as conn:
                await conn.execute(sql, *args)
        except _ERRORS as exc:
            self._degraded(exc)

    async def _fetch(self, sql: str, *args: object) -> list[asyncpg.Record]:
        try:
            async with (await self._db()).acquire() as conn:
                return await conn.fetch(sql, *args)
        except _ERRORS as exc:
            self._degraded(exc)
            return []

    def _degraded(self, exc: BaseException) -> None:
        if not self._warned:
            self._warned = True
            log.warning("PostgreSQL unreachable, the prober's limits are this process's own until it answers: %s", exc)
