"""Bounce ingestion on SQLite: the statements ``SqliteStore`` runs for it, on its threads.

``ingest`` runs on the writer thread inside the store's transaction; the reads below run on
the loop's read connection (point lookups) or the scan thread (the report). Timestamps are
integer microseconds, as everywhere in the SQLite schema.
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
    event_row,
    plan_ingest,
)
from validator.bounces.policy import LearningPolicy
from validator.model import SoftStreak, SuppressionEntry
from validator.store.sqlite.sql import CHUNK, from_us, to_us


def _marks(n: int) -> str:
    return ", ".join("?" * n)


def ingest(
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


def find_streaks(conn: sqlite3.Connection, addresses: Sequence[str]) -> dict[str, SoftStreak]:
    found = {}
    for i in range(0, len(addresses), CHUNK):
        part = list(addresses[i : i + CHUNK])
        for address, sends, first, last in conn.execute(
            f"SELECT address, sends, first_at, last_at FROM soft_streaks WHERE address IN ({_marks(len(part))})", part
        ):
            found[address] = SoftStreak(sends, from_us(first), from_us(last))  # type: ignore[arg-type]
    return found


def count_events(conn: sqlite3.Connection, filters: Sequence[Any]) -> tuple[list[EventCount], int]:
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
