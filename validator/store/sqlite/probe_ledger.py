"""The probe ledger on SQLite: acceptances written in batches, disagreements read on the loop.

``probe_accepts`` is written here; ``domain_disagreements`` by bounce ingestion (``bounces.py``),
when a hard bounce hits an address a probe had accepted.
"""

from __future__ import annotations

from collections.abc import Sequence

from validator.store.sqlite.connections import SqliteConnections
from validator.store.sqlite.sql import to_us


class SqliteProbeLedger(SqliteConnections):
    """``ProbeLedger`` on SQLite."""

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
