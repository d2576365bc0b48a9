"""API keys on SQLite: the primitives ``StoreBase`` turns into the ``ApiKeyStore`` methods.

A key is fetched on the loop (``verify_api_key`` is on every authenticated request and caches);
inserts, uses and revocations are writes on the writer thread; the listing is a scan.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from validator.errors import Conflict
from validator.model import ApiKey
from validator.store.sqlite.connections import SqliteConnections
from validator.store.sqlite.sql import KEY_COLUMNS, api_key, to_us


class SqliteApiKeys(SqliteConnections):
    """``ApiKeyStore`` on SQLite (through ``StoreBase``)."""

    async def _insert_key(self, key: ApiKey, secret_sha256: bytes) -> None:
        def insert(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(
                    f"INSERT INTO api_keys ({KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, NULL, NULL)",
                    (key.id, key.name, " ".join(sorted(key.scopes)), secret_sha256, to_us(key.created_at)),
                )
            except sqlite3.IntegrityError as exc:
                raise Conflict(f"an active API key is already named {key.name!r}", field="name") from exc

        await self._write(insert)

    async def _fetch_key(self, key_id: str) -> tuple[ApiKey, bytes] | None:
        rows = self._read(f"SELECT {KEY_COLUMNS} FROM api_keys WHERE id = ?", (key_id,))
        return (api_key(rows[0]), rows[0][3]) if rows else None

    async def _touch_key(self, key_id: str, now: datetime) -> None:
        await self._write(
            lambda conn: conn.execute("UPDATE api_keys SET last_used_at = ? WHERE id = ?", (to_us(now), key_id))
        )

    async def list_api_keys(self) -> list[ApiKey]:
        return [api_key(row) for row in await self._scan(f"SELECT {KEY_COLUMNS} FROM api_keys ORDER BY created_at, id")]

    async def _revoke_key(self, id_or_name: str, now: datetime) -> list[str]:
        def revoke(conn: sqlite3.Connection) -> list[str]:
            for column in ("id", "name"):  # an id wins over a name that happens to look like one
                rows = conn.execute(
                    f"UPDATE api_keys SET revoked_at = ? WHERE {column} = ? AND revoked_at IS NULL RETURNING id",
                    (to_us(now), id_or_name),
                ).fetchall()
                if rows:
                    return [r[0] for r in rows]
            return []

        return await self._write(revoke)
