"""The suppression list on PostgreSQL: one-round-trip lookups, audited writes safe across replicas, pages.

Concurrent writers on several replicas: a write reads the rows it replaces ``FOR UPDATE`` and
inserts new keys with ``ON CONFLICT DO NOTHING``; a key another transaction inserted meanwhile
makes the transaction plan again (``Contended``), so no write is lost or counted twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from validator.model import AuditEntry, SoftStreak, Suppression, SuppressionEntry, SuppressionKind, SuppressionReason
from validator.store import audit_trail, records
from validator.store.postgres.connections import Contended, PostgresConnections
from validator.store.postgres.sql import COLUMNS, LIVE, as_row, insert_audit, suppression

ANALYZE_MIN = 10_000  # ANALYZE after this many inserted rows, or half the table if larger


class PostgresSuppressions(PostgresConnections):
    """``SuppressionStore`` and ``ValidationFacts`` on PostgreSQL, and the audited ``_apply`` that bounce
    ingestion reuses."""

    _inserted, _analyze_at = 0, ANALYZE_MIN  # rows inserted since the last ANALYZE, and when next

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

    async def _put_batch(
        self, entries: list[SuppressionEntry], actor: str, why: str | None, bulk: bool
    ) -> records.WritePlan:
        plan = await self._transaction(lambda conn: self._apply(conn, entries, actor, why, bulk))
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
        self, conn: asyncpg.Connection, entries: list[SuppressionEntry], actor: str, why: str | None, bulk: bool = False
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
        plan = records.plan_puts(entries, stored, actor=actor, why=why, now=now, bulk=bulk)
        if plan.inserts:  # waits for a concurrent insert of the same key to end, then skips it
            batch = (
                await conn.fetchval(
                    "INSERT INTO suppression_batches (actor, at, why, added, first_id, last_id)"
                    " VALUES ($1, $2, $3, $4, 0, 0) RETURNING id",
                    actor,
                    now,
                    why,
                    len(plan.inserts),
                )
                if bulk
                else None
            )
            inserted = await conn.fetch(
                f"INSERT INTO suppressions ({COLUMNS}, batch_id) SELECT *, $9::bigint FROM unnest($1::text[],"
                " $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[],"
                " $8::timestamptz[]) ON CONFLICT (kind, value) DO NOTHING RETURNING id",
                *zip(*map(as_row, plan.inserts), strict=True),
                batch,
            )
            if len(inserted) != len(plan.inserts):
                raise Contended()
            if batch is not None:  # the identity is shared with concurrent inserts: the range bounds ours
                ids = [row[0] for row in inserted]
                await conn.execute(
                    "UPDATE suppression_batches SET first_id = $2, last_id = $3 WHERE id = $1",
                    batch,
                    min(ids),
                    max(ids),
                )
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
                f"DELETE FROM suppressions WHERE kind = $1 AND value = $2 RETURNING {COLUMNS}, batch_id",
                SuppressionKind(kind).value,
                value,
            )
            if row is None:
                return None
            old = suppression(row)
            await insert_audit(conn, [records.deletion_audit(old, actor=actor, why=why, now=now, batch_id=row[8])])
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
        key = (SuppressionKind(kind).value, value)
        # the row first: a change committed between the two reads then shows as a change of it
        found = await self._fetch(f"SELECT {COLUMNS}, batch_id FROM suppressions WHERE kind = $1 AND value = $2", *key)
        current = (suppression(found[0]), found[0][8]) if found else None
        rows = await self._fetch(
            f"SELECT {records.AUDIT_COLUMNS}, batch_id FROM suppression_audit WHERE kind = $1 AND value = $2"
            " ORDER BY id",
            *key,
        )
        changes = [(records.audit_entry(row, row[5]), row[9]) for row in rows]
        wanted = audit_trail.batch_ids(changes, current)
        batches = await self._fetch(
            f"SELECT {audit_trail.BATCH_COLUMNS} FROM suppression_batches WHERE id = ANY($1::bigint[])", wanted
        )
        known = {row[0]: audit_trail.ImportBatch(*row) for row in batches}
        return audit_trail.merge_trail(SuppressionKind(kind), value, changes, current, known)
