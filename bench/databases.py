"""Throw-away databases for benchmarks: SQLite files in a private directory and PostgreSQL databases
with unique names on the local cluster, given the store's own schema by its migrations.

Shared by the suppression, scale, ingest and jobs benchmarks (it lived in the suppression benchmark,
which they imported for it). Nothing here measures anything; nothing outside 127.0.0.1 is contacted.
"""

from __future__ import annotations

import asyncio
import secrets
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from validator.store import open_store

from .report import progress

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def postgres_url(name: str) -> str:
    """The URL of database ``name`` on the cluster ``PG_ADMIN`` administers."""
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"


@dataclass
class Databases:
    """Every database of one run: SQLite files in a private directory, PostgreSQL databases
    with unique names; all removed by ``cleanup``."""

    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="bench-suppressions-")))
    pg_names: list[str] = field(default_factory=list)

    def sqlite(self, name: str) -> str:
        return f"sqlite:///{self.workdir / (name + '.sqlite3')}"  # sqlite:////tmp/...: an absolute path

    def postgres(self) -> str:
        name = f"bench_suppressions_{secrets.token_hex(4)}"
        asyncio.run(pg_admin(f'CREATE DATABASE "{name}"'))
        self.pg_names.append(name)
        return postgres_url(name)

    def cleanup(self) -> None:
        for name in self.pg_names:
            try:
                asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            except Exception as exc:  # noqa: BLE001 - report and go on cleaning
                progress(f"could not drop PostgreSQL database {name}: {exc}")
        for path in sorted(self.workdir.glob("*"), reverse=True):
            path.unlink(missing_ok=True)
        self.workdir.rmdir()


async def pg_admin(sql: str) -> None:
    """Run one statement (CREATE/DROP/COMMENT ON DATABASE) as the cluster's administrator."""
    import asyncpg

    try:
        conn = await asyncpg.connect(PG_ADMIN, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        raise RuntimeError(
            f"PostgreSQL at {PG_ADMIN} is unreachable ({exc}); run with --backends sqlite "
            "--import-backends sqlite to measure SQLite only"
        ) from exc
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def create_schema(url: str) -> None:
    """The store's own schema at ``url``: ``open_store`` runs the migrations."""
    store = await open_store(url)
    await store.close()
