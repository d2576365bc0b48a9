"""Bounce ingestion and bounce history on SQLite: ``SqliteBounces`` and the statements it runs.

``_ingest`` runs on the writer thread inside the store's transaction (its suppressions through
the audited ``SqliteSuppressions._apply``); streak lookups run on the loop's read connection,
the report and the event lists on the scan thread. Timestamps are integer microseconds, as
everywhere in the SQLite schema.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

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
from validator.model import SoftStreak, Suppression, SuppressionEntry
from validator.store import event_reads
from validator.store.keyfilter import key_hash
from validator.store.sqlite.keyfilters import RULED_OUT_DOMAINS_MAX
from validator.store.sqlite.sql import CHUNK, from_us, to_us, translated
from validator.store.sqlite.suppressions import SqliteSuppressions


def _marks(n: int) -> str:
    return ", ".join("?" * n)


def _ingest(
    conn: sqlite3.Connection,
    records: Sequence[FactRecord],
    policy: LearningPolicy,
    now: datetime,
    put: Callable[[sqlite3.Connection, list[SuppressionEntry]], object],
) -> list[Decision]:
    """Plan and write one batch in the caller's transaction; ``put`` is the store's audited put."""
    keys = list({r.key for r in records})
    addresses = list({r.address for r in records if r.address})
    seen: set[str] = set()
    streaks: dict[str, SoftStreak] = {}
    counted: set[tuple[str, str]] = set()
    accepted: set[str] = set()
    for i in range(0, len(keys), CHUNK):
        part = keys[i : i + CHUNK]
        seen |= {
            k
            for (k,) in conn.execute(
                f"SELECT dedupe_key FROM delivery_events WHERE dedupe_key IN ({_marks(len(part))})", part
            )
        }
    for i in range(0, len(addresses), CHUNK):
        part = addresses[i : i + CHUNK]
        for address, sends_, first, last in conn.execute(
            f"SELECT address, sends, first_at, last_at FROM soft_streaks WHERE address IN ({_marks(len(part))})", part
        ):
            streaks[address] = SoftStreak(sends_, from_us(first), from_us(last))  # type: ignore[arg-type]
        accepted |= {
            a
            for (a,) in conn.execute(f"SELECT address FROM probe_accepts WHERE address IN ({_marks(len(part))})", part)
        }
        counted |= set(
            conn.execute(  # the sends counted in open streaks: few per address, by the index
                f"SELECT address, message_id FROM delivery_events WHERE address IN ({_marks(len(part))})"
                " AND outcome = 'streak_incremented'",
                part,
            )
        )
    plan = plan_ingest(records, seen=seen, streaks=streaks, counted=counted, probe_accepted=accepted, policy=policy)
    rows = [_us_row(event_row(d, now)) for d in plan.events]
    conn.executemany(f"INSERT INTO delivery_events ({EVENT_COLUMNS}) VALUES ({_marks(22)})", rows)
    for address, streak in plan.streaks.items():
        if streak is None:
            conn.execute("DELETE FROM soft_streaks WHERE address = ?", (address,))
        else:
            conn.execute(
                "INSERT OR REPLACE INTO soft_streaks VALUES (?, ?, ?, ?)",
                (address, streak.sends, to_us(streak.first_at), to_us(streak.last_at)),
            )
    for domain, count in plan.disagreements.items():
        conn.execute(
            "INSERT INTO domain_disagreements VALUES (?, ?, ?) ON CONFLICT (domain) DO UPDATE SET"
            " hard_bounces = hard_bounces + excluded.hard_bounces, updated_at = excluded.updated_at",
            (domain, count, to_us(now)),
        )
    if plan.suppressions:
        put(conn, plan.suppressions)
    return plan.decisions


def _us_row(row: tuple[object, ...]) -> tuple[object, ...]:
    return tuple(to_us(v) if isinstance(v, datetime) else v for v in row)


def _find_streaks(conn: sqlite3.Connection, addresses: Sequence[str]) -> dict[str, SoftStreak]:
    found = {}
    for i in range(0, len(addresses), CHUNK):
        part = list(addresses[i : i + CHUNK])
        for address, sends, first, last in conn.execute(
            f"SELECT address, sends, first_at, last_at FROM soft_streaks WHERE address IN ({_marks(len(part))})", part
        ):
            found[address] = SoftStreak(sends, from_us(first), from_us(last))  # type: ignore[arg-type]
    return found


def _count_events(conn: sqlite3.Connection, filters: Sequence[Any]) -> tuple[list[EventCount], int]:
    """The report's groups, and the addresses whose soft failures in range are still an open streak."""
    where, params = _where(filters)
    groups = [
        EventCount(*row)
        for row in conn.execute(
            "SELECT event, category, outcome, COUNT(*), COUNT(DISTINCT address) FROM delivery_events"
            f" WHERE {where} GROUP BY event, category, outcome",
            params,
        )
    ]
    (open_soft,) = conn.execute(
        "SELECT COUNT(DISTINCT address) FROM delivery_events WHERE category IN (?, ?) AND address IN"
        f" (SELECT address FROM soft_streaks) AND {where}",
        (*SOFT_CATEGORIES, *params),
    ).fetchone()
    return groups, open_soft


def _where(filters: Sequence[Any]) -> tuple[str, list[Any]]:
    clauses, params = ["1 = 1"], []
    for (column, op), value in zip(REPORT_FILTERS, filters, strict=True):
        if value is not None:
            clauses.append(f"{column} {op} ?")
            params.append(to_us(value) if isinstance(value, datetime) else value)
    return " AND ".join(clauses), params


class SqliteBounces(SqliteSuppressions):
    """``BounceIngestion``, ``BounceReports`` and ``ValidationFacts`` on SQLite."""

    async def ingest_facts(
        self, records_: Sequence[FactRecord], policy: LearningPolicy, *, actor: str, dry_run: bool = False
    ) -> list[Decision]:
        if not records_:
            return []

        def run(conn: sqlite3.Connection) -> list[Decision]:
            decisions = _ingest(
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

    def rules_out_validation_facts(self, address: str, domain: str) -> bool:
        """Both key filters rule the keys out: ``find_validation_facts([address], [domain])`` would
        answer ``({}, {})``. One validation's hot path, without awaiting: the address is hashed once
        for both filters (its hash is never asked for again, so it is not remembered either)."""
        self._reader()  # first, as each lookup does: renewing the snapshot brings the filters up to date
        suppressions, streaks = self._suppression_keys.filter, self._streak_keys.filter
        if suppressions is None or streaks is None:
            return False
        h = key_hash(address)
        if suppressions.might_hold(h) or streaks.might_hold(h):
            return False
        ruled_out = self._key_filters.ruled_out_domains  # emptied at each snapshot renewal (the pull)
        if domain in ruled_out:
            return True
        if suppressions.might_contain(domain):
            return False
        if len(ruled_out) < RULED_OUT_DOMAINS_MAX:
            ruled_out.add(domain)
        return True

    async def find_soft_streaks(self, addresses: Sequence[str]) -> dict[str, SoftStreak]:
        conn = self._reader()  # first: renewing the snapshot also brings the filter up to date
        keys = self._streak_keys.filter
        if keys is not None:  # almost no address has a streak: most lookups end here
            addresses = [a for a in addresses if keys.might_contain(a)]
            if not addresses:
                return {}
        with translated():
            return _find_streaks(conn, addresses)

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
                return _count_events(self._sconn, (campaign_id, sender, since, until))  # type: ignore[arg-type]

        return await self._in(self._scanner, run)

    async def list_campaigns(self) -> list[event_reads.CampaignSummary]:
        rows = await self._scan(event_reads.CAMPAIGNS_SQL, (event_reads.CAMPAIGNS_MAX,))
        return [event_reads.campaign_summary(row, from_us) for row in rows]  # type: ignore[arg-type]

    async def list_events(
        self, campaign_id: str | None, before_id: int | None, limit: int
    ) -> list[event_reads.StoredEvent]:
        sql, params = event_reads.events_query(campaign_id, before_id, limit)
        return [event_reads.stored_event(row, from_us) for row in await self._scan(sql, params)]  # type: ignore[arg-type]
