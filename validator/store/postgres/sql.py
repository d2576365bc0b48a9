"""SQL text and row conversions of the PostgreSQL backend, shared by its role modules.

Timestamps travel as ``datetime`` both ways (asyncpg converts ``TIMESTAMPTZ``); enums as their values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from validator.model import ApiKey, Suppression, SuppressionKind, SuppressionReason
from validator.store import records

COLUMNS = "kind, value, reason, source, detail, created_at, updated_at, expires_at"
KEY_COLUMNS = "id, name, scopes, secret_sha256, created_at, revoked_at, last_used_at"
LIVE = "(expires_at IS NULL OR expires_at > $3)"
_KINDS = {k.value: k for k in SuppressionKind}
_REASONS = {r.value: r for r in SuppressionReason}


def suppression(row: Sequence[Any]) -> Suppression:
    return Suppression(_KINDS[row[0]], row[1], _REASONS[row[2]], row[3], row[4], row[5], row[6], row[7])


def as_row(s: Suppression) -> tuple[Any, ...]:
    return (s.kind.value, s.value, s.reason.value, s.source, s.detail, s.created_at, s.updated_at, s.expires_at)


def api_key(row: Sequence[Any]) -> ApiKey:
    return ApiKey(row[0], row[1], frozenset(row[2].split()), row[4], row[5], row[6])


async def insert_audit(conn: asyncpg.Connection, rows: list[records.AuditRow]) -> None:
    """Audit rows, each naming the import batch that created the row it changes (given, or the row's)."""
    if rows:
        await conn.executemany(
            "INSERT INTO suppression_audit (kind, value, action, actor, at, why, before, after, batch_id)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8,"
            " coalesce($9::bigint, (SELECT batch_id FROM suppressions WHERE kind = $1 AND value = $2)))",
            [(a.kind, a.value, a.action, a.actor, a.at, a.why, a.before, a.after, a.batch_id) for a in rows],
        )
