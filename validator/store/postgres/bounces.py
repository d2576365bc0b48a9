"""Bounce ingestion and bounce history on PostgreSQL: ``PostgresBounces`` and the statements it runs.

``_ingest`` runs inside the store's transaction (its suppressions through the audited
``PostgresSuppressions._apply``). Rows of the batch's addresses are locked
(``soft_streaks ... FOR UPDATE``; a unique-key insert race on ``delivery_events`` makes the
transaction retry through the store's ``Contended``), so two replicas ingesting reports for
one address serialize instead of losing a streak increment.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

import asyncpg

from validator.bounces.plan import (
    EVENT_COLUMNS,
    REPORT_FILTERS,
    SOFT_CATEGORIES,
    Decision,
    EventCount,
    FactRecord,
    RolledBack,
    event_row,
    plan_ingest,
)
from validator.bounces.policy import LearningPolicy
from validator.model import SoftStreak, SuppressionEntry
from validator.store import event_reads
from validator.store.postgres.connections import Contended
from validator.store.postgres.suppressions import PostgresSuppressions

_EVENT_TYPES = ("text[]",) * 9 + ("int[]",) + ("text[]",) * 10 + ("timestamptz[]",) * 2


async def _ingest(
    conn: asyncpg.Connection,
    records: Sequence[FactRecord],
    policy: LearningPolicy,
    now: datetime,
    put: Callable[[asyncpg.Connection, list[SuppressionEntry]], Awaitable[object]],
    contended: Callable[[], Exception],
) -> list[Decision]:
    keys = list({r.key for r in records})
    addresses = sorted({r.address for r in records if r.address})  # sorted: a fixed lock order, no deadlock
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext(a)) FROM unnest($1::text[]) AS a ORDER BY a", addresses)
    seen = {
        row[0]
        for row in await conn.fetch("SELECT dedupe_key FROM delivery_events WHERE dedupe_key = ANY($1::text[])", keys)
    }
    streaks = {
        row[0]: SoftStreak(row[1], row[2], row[3])
        for row in await conn.fetch(
            "SELECT address, sends, first_at, last_at FROM soft_streaks WHERE address = ANY($1::text[])", addresses
        )
    }
    accepted = {
        row[0]
        for row in await conn.fetch("SELECT address FROM probe_accepts WHERE address = ANY($1::text[])", addresses)
    }
    counted = {
        (row[0], row[1])
        for row in await conn.fetch(
            "SELECT address, message_id FROM delivery_events WHERE address = ANY($1::text[])"
            " AND outcome = 'streak_incremented'",
            addresses,
        )
    }
    plan = plan_ingest(records, seen=seen, streaks=streaks, counted=counted, probe_accepted=accepted, policy=policy)
    if plan.events:
        columns = list(zip(*(event_row(d, now) for d in plan.events), strict=True))
        unnest = ", ".join(f"${i + 1}::{t}" for i, t in enumerate(_EVENT_TYPES))
        inserted = await conn.fetch(
            f"INSERT INTO delivery_events ({EVENT_COLUMNS}) SELECT * FROM unnest({unnest})"
            " ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
            *columns,
        )
        if len(inserted) != len(plan.events):
            raise contended()  # another replica ingested the same report meanwhile: plan again
    for address, streak in plan.streaks.items():
        if streak is None:
            await conn.execute("DELETE FROM soft_streaks WHERE address = $1", address)
        else:
            await conn.execute(
                "INSERT INTO soft_streaks VALUES ($1, $2, $3, $4) ON CONFLICT (address) DO UPDATE"
                " SET sends = $2, first_at = $3, last_at = $4",
                address,
                streak.sends,
                streak.first_at,
                streak.last_at,
            )
    for domain, count in plan.disagreements.items():
        await conn.execute(
            "INSERT INTO domain_disagreements VALUES ($1, $2, $3) ON CONFLICT (domain) DO UPDATE SET"
            " hard_bounces = domain_disagreements.hard_bounces + $2, updated_at = $3",
            domain,
            count,
            now,
        )
    if plan.suppressions:
        await put(conn, plan.suppressions)
    return plan.decisions


async def _count_events(conn: asyncpg.Connection, filters: Sequence[Any]) -> tuple[list[EventCount], int]:
    clauses, params = ["TRUE"], []
    for (column, op), value in zip(REPORT_FILTERS, filters, strict=True):
        if value is not None:
            params.append(value)
            clauses.append(f"{column} {op} ${len(params)}")
    where = " AND ".join(clauses)
    groups = [
        EventCount(*row)
        for row in await conn.fetch(
            "SELECT event, category, outcome, COUNT(*), COUNT(DISTINCT address) FROM delivery_events"
            f" WHERE {where} GROUP BY event, category, outcome",
            *params,
        )
    ]
    n = len(params)
    open_soft = await conn.fetchval(
        f"SELECT COUNT(DISTINCT address) FROM delivery_events WHERE category IN (${n + 1}, ${n + 2})"
        f" AND address IN (SELECT address FROM soft_streaks) AND {where}",
        *params,
        *SOFT_CATEGORIES,
    )
    return groups, open_soft


class PostgresBounces(PostgresSuppressions):
    """``BounceIngestion`` and ``BounceReports`` on PostgreSQL."""

    async def ingest_facts(
        self, records_: Sequence[FactRecord], policy: LearningPolicy, *, actor: str, dry_run: bool = False
    ) -> list[Decision]:
        if not records_:
            return []

        async def run(conn: asyncpg.Connection) -> list[Decision]:
            async def put(c: asyncpg.Connection, entries: list[SuppressionEntry]) -> object:
                return await self._apply(c, entries, actor, None)

            decisions = await _ingest(conn, records_, policy, self._clock(), put, Contended)
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
            return await _count_events(conn, (campaign_id, sender, since, until))

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
