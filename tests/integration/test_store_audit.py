"""The audit trail of bulk imports, on both backends: one record per import batch with the range of
its rows, one audit row per single change, and every key's trail still complete (migration 6)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.support.stores import query
from validator.model import AuditAction, SuppressionEntry, SuppressionKind, SuppressionReason
from validator.store import open_store
from validator.store.migrations import MIGRATIONS, SCHEMA_MIGRATIONS_POSTGRES, SCHEMA_MIGRATIONS_SQLITE

ADDRESS = SuppressionKind.ADDRESS


def entry(value: str, reason: SuppressionReason = SuppressionReason.HARD_BOUNCE, **extra: Any) -> SuppressionEntry:
    return SuppressionEntry(ADDRESS, value, reason, "test", **extra)


def actions(trail: list[Any]) -> list[tuple[str, str]]:
    return [(row.action.value, row.actor) for row in trail]


async def test_a_bulk_import_writes_one_record_per_batch_with_the_range_of_its_rows(store_url, store):
    result = await store.put_suppressions_bulk(
        [entry(f"u{i}@example.com") for i in range(2_500)], actor="import", why="list.csv"
    )
    assert result.added == 2_500
    assert await query(store_url, "SELECT count(*) FROM suppression_audit") == [(0,)]
    batches = await query(
        store_url, "SELECT id, actor, why, added, first_id, last_id FROM suppression_batches ORDER BY id"
    )
    assert [(actor, why, added) for _, actor, why, added, _, _ in batches] == [
        ("import", "list.csv", 1000),
        ("import", "list.csv", 1000),
        ("import", "list.csv", 500),
    ]
    for batch_id, _, _, added, first_id, last_id in batches:  # every row of a batch lies in its range
        rows = await query(
            store_url, f"SELECT count(*), min(id), max(id) FROM suppressions WHERE batch_id = {batch_id}"
        )
        assert rows[0][0] == added and first_id <= rows[0][1] and rows[0][2] <= last_id


async def test_single_changes_keep_one_audit_row_each_and_no_batch(store_url, store):
    await store.put_suppression(entry("a@example.com"), actor="key:ops", why="complaint by phone")
    await store.put_suppression(entry("a@example.com", SuppressionReason.UNSUBSCRIBE), actor="key:ops")
    assert await query(store_url, "SELECT count(*) FROM suppression_audit") == [(2,)]
    assert await query(store_url, "SELECT count(*) FROM suppression_batches") == [(0,)]
    trail = await store.audit_trail(ADDRESS, "a@example.com")
    assert actions(trail) == [("created", "key:ops"), ("updated", "key:ops")] and trail[0].id > 0


async def test_an_imported_key_shows_its_batch_then_each_later_change_even_after_deletion(store):
    await store.put_suppressions_bulk([entry("a@example.com", detail="row 7")], actor="import", why="list.csv")
    (created,) = await store.audit_trail(ADDRESS, "a@example.com")
    # the batch's creation: who, why, and the content it wrote (the row itself, unchanged since)
    assert (created.action, created.actor, created.why, created.before) == (
        AuditAction.CREATED,
        "import",
        "list.csv",
        None,
    )
    assert created.after["detail"] == "row 7" and created.id == 0
    await store.put_suppression(entry("a@example.com", SuppressionReason.COMPLAINT), actor="key:ops")
    await store.delete_suppression(ADDRESS, "a@example.com", actor="key:ops", why="sent by mistake")
    trail = await store.audit_trail(ADDRESS, "a@example.com")
    assert actions(trail) == [("created", "import"), ("updated", "key:ops"), ("deleted", "key:ops")]
    # the content at creation is still known after the update changed the row: the update's before
    assert trail[0].after == trail[1].before and trail[0].after["detail"] == "row 7"
    await store.put_suppressions_bulk([entry("a@example.com")], actor="import-2")  # a new life, a new batch
    trail = await store.audit_trail(ADDRESS, "a@example.com")
    assert actions(trail) == [
        ("created", "import"),
        ("updated", "key:ops"),
        ("deleted", "key:ops"),
        ("created", "import-2"),
    ]


async def test_re_importing_an_expired_entry_keeps_both_creations(store_url, store):
    expired = datetime.now(UTC) - timedelta(days=1)  # a temporary suppression that ran out
    await store.put_suppressions_bulk([entry("a@example.com", expires_at=expired)], actor="import")
    assert await store.get_suppression(ADDRESS, "a@example.com") is None
    result = await store.put_suppressions_bulk([entry("a@example.com")], actor="import-2")
    assert result.added == 1
    trail = await store.audit_trail(ADDRESS, "a@example.com")
    # the second creation replaced a row, so it keeps its own audit row with what it replaced
    assert actions(trail) == [("created", "import"), ("created", "import-2")]
    assert trail[1].before is not None and trail[1].before["expires_at"] is not None
    assert await query(store_url, "SELECT count(*) FROM suppression_batches") == [(1,)]


async def test_the_trail_of_a_database_from_before_batches_is_unchanged(store_url):
    """A database at schema 5 with its per-row audit: opened by this release, migrated to 6."""
    sqlite = store_url.startswith("sqlite")
    await _create_schema_5(store_url)
    at = "1700000000000000" if sqlite else "to_timestamp(1700000000)"  # 2023-11-14, as each dialect stores it
    columns, id_ = (
        ("kind, value, reason, source, created_at, updated_at, id", ", 1")
        if sqlite
        else ("kind, value, reason, source, created_at, updated_at", "")
    )
    await _execute(
        store_url,
        f"INSERT INTO suppressions ({columns})"
        f" VALUES ('address', 'old@example.com', 'hard_bounce', 'test', {at}, {at}{id_})",
    )
    await _execute(
        store_url,
        "INSERT INTO suppression_audit (kind, value, action, actor, at, why, before, after) VALUES"
        f" ('address', 'old@example.com', 'created', 'import-2023', {at}, NULL, NULL, '{{}}')",
    )
    store = await open_store(store_url)
    try:
        assert actions(await store.audit_trail(ADDRESS, "old@example.com")) == [("created", "import-2023")]
        await store.delete_suppression(ADDRESS, "old@example.com", actor="key:ops")
        assert actions(await store.audit_trail(ADDRESS, "old@example.com")) == [
            ("created", "import-2023"),
            ("deleted", "key:ops"),
        ]
    finally:
        await store.close()
    assert (6,) in await query(store_url, "SELECT version FROM schema_migrations")


async def _create_schema_5(store_url: str) -> None:
    dialect = "sqlite" if store_url.startswith("sqlite") else "postgres"
    statements = [SCHEMA_MIGRATIONS_SQLITE if dialect == "sqlite" else SCHEMA_MIGRATIONS_POSTGRES]
    for migration in MIGRATIONS:
        if migration.version <= 5:
            statements += migration.statements(dialect)
            statements.append(
                f"INSERT INTO schema_migrations VALUES ({migration.version}, '{migration.name}', "
                + ("0)" if dialect == "sqlite" else "now())")
            )
    for sql in statements:
        await _execute(store_url, sql)


async def _execute(store_url: str, sql: str) -> None:
    if store_url.startswith("sqlite"):
        path = Path(store_url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(path)) as conn:
            conn.executescript(sql)
        return
    import asyncpg

    conn = await asyncpg.connect(store_url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()
