"""Reading a store's database behind its back, for tests that check what was really written."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from typing import Any


async def query(store_url: str, sql: str) -> list[tuple[Any, ...]]:
    """Every row of ``sql`` on the SQLite file or PostgreSQL database of ``store_url``."""
    if store_url.startswith("sqlite"):
        with closing(sqlite3.connect(store_url.removeprefix("sqlite:///"))) as conn:
            return conn.execute(sql).fetchall()
    import asyncpg

    conn = await asyncpg.connect(store_url)
    try:
        return [tuple(row) for row in await conn.fetch(sql)]
    finally:
        await conn.close()


async def chunk_jobs(store_url: str) -> list[str]:
    """The ids of the jobs that own stored chunks."""
    return [row[0] for row in await query(store_url, "SELECT DISTINCT job_id FROM job_chunks ORDER BY job_id")]
