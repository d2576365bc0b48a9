"""The probe ledger on PostgreSQL: acceptances upserted in batches, disagreements read per domain.

``probe_accepts`` is written here; ``domain_disagreements`` by bounce ingestion (``bounces.py``),
when a hard bounce hits an address a probe had accepted.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from validator.store.postgres.connections import PostgresConnections


class PostgresProbeLedger(PostgresConnections):
    """``ProbeLedger`` on PostgreSQL."""

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
