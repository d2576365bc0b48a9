"""API keys on PostgreSQL: the primitives ``StoreBase`` turns into the ``ApiKeyStore`` methods."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from validator.errors import Conflict
from validator.model import ApiKey
from validator.store.postgres.connections import PostgresConnections
from validator.store.postgres.sql import KEY_COLUMNS, api_key


class PostgresApiKeys(PostgresConnections):
    """``ApiKeyStore`` on PostgreSQL (through ``StoreBase``)."""

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
