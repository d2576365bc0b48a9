"""The store contract, one suite run against both backends: a real SQLite file and a real
PostgreSQL database on 127.0.0.1:5432 (fixtures ``store_url``/``store`` in conftest.py)."""

from __future__ import annotations

import asyncio
import contextlib
import random
import sqlite3
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.support.stores import query
from validator.errors import Conflict, InvalidField, StoreUnavailable
from validator.model import AuditAction, SuppressionEntry, SuppressionKind, SuppressionReason
from validator.store import open_store
from validator.store.migrations import MIGRATIONS
from validator.store.sqlite import SqliteStore

ADDRESS, DOMAIN = SuppressionKind.ADDRESS, SuppressionKind.DOMAIN
ROOT = Path(__file__).parents[2]


def entry(
    value: str, reason: SuppressionReason = SuppressionReason.HARD_BOUNCE, source: str = "test", **extra: Any
) -> SuppressionEntry:
    kind = ADDRESS if "@" in value else DOMAIN
    return SuppressionEntry(kind, value, reason, source, **extra)


# --- put / get / update / delete, with their audit rows ------------------------------------------


async def test_put_adds_once_and_an_identical_put_writes_nothing(store):
    # the SMTP reply that caused it, as a bounce processor would record it
    first, created = await store.put_suppression(entry("a@example.com", detail="550 5.1.1 User unknown"), actor="key:1")
    again, created_again = await store.put_suppression(
        entry("a@example.com", detail="550 5.1.1 User unknown"), actor="key:2", why="retry"
    )
    assert (created, created_again) == (True, False)
    assert again == first == await store.get_suppression(ADDRESS, "a@example.com")
    assert first.created_at == first.updated_at and first.created_at.tzinfo is not None
    trail = await store.audit_trail(ADDRESS, "a@example.com")
    assert [(a.action, a.actor) for a in trail] == [(AuditAction.CREATED, "key:1")]
    assert trail[0].before is None and trail[0].after["detail"] == "550 5.1.1 User unknown"


async def test_update_keeps_created_at_and_audits_before_and_after(store):
    first, _ = await store.put_suppression(entry("a@example.com"), actor="key:1")
    second, created = await store.put_suppression(
        entry("a@example.com", SuppressionReason.COMPLAINT), actor="cli:ops", why="FBL report"
    )
    assert not created and second.reason is SuppressionReason.COMPLAINT
    assert second.created_at == first.created_at and second.updated_at >= first.updated_at
    update = (await store.audit_trail(ADDRESS, "a@example.com"))[-1]
    assert (update.action, update.actor, update.why) == (AuditAction.UPDATED, "cli:ops", "FBL report")
    assert (update.before["reason"], update.after["reason"]) == ("hard_bounce", "complaint")


async def test_delete_returns_the_entry_and_the_trail_outlives_it(store):
    put, _ = await store.put_suppression(entry("a@example.com"), actor="key:1")
    assert await store.delete_suppression(ADDRESS, "a@example.com", actor="key:2", why="user asked") == put
    assert await store.get_suppression(ADDRESS, "a@example.com") is None
    assert await store.delete_suppression(ADDRESS, "a@example.com", actor="key:2") is None
    trail = await store.audit_trail(ADDRESS, "a@example.com")
    assert [a.action for a in trail] == [AuditAction.CREATED, AuditAction.DELETED]
    assert trail[1].after is None and trail[1].before["reason"] == "hard_bounce" and trail[1].why == "user asked"
    assert await store.audit_trail(ADDRESS, "never@example.com") == []


# --- expiry ---------------------------------------------------------------------------------------


async def test_expired_entries_are_absent_everywhere_and_come_back_as_added(store_url, store):
    now = datetime.now(UTC)
    await store.put_suppression(entry("old@example.com", expires_at=now - timedelta(seconds=1)), actor="t")
    await store.put_suppression(entry("new@example.com", expires_at=now + timedelta(hours=1)), actor="t")
    assert await store.get_suppression(ADDRESS, "old@example.com") is None
    assert set(await store.find_suppressions(["old@example.com", "new@example.com"])) == {"new@example.com"}
    assert [s.value for s in (await store.list_suppressions())[0]] == ["new@example.com"]
    again, created = await store.put_suppression(entry("old@example.com"), actor="t")
    assert created and again.expires_at is None


async def test_an_entry_expires_when_the_clock_passes_expires_at(store_url, store):
    now = datetime(2030, 1, 1, tzinfo=UTC)
    clock = [now]
    timed = await open_store(store_url, clock=lambda: clock[0])
    try:
        await timed.put_suppression(
            entry("soft@example.com", SuppressionReason.CHRONIC_SOFT_BOUNCE, expires_at=now + timedelta(days=30)),
            actor="t",
        )
        assert await timed.get_suppression(ADDRESS, "soft@example.com") is not None
        clock[0] = now + timedelta(days=30)  # expires_at is exclusive: at that instant it is gone
        assert await timed.get_suppression(ADDRESS, "soft@example.com") is None
        assert await timed.find_suppressions(["soft@example.com"]) == {}
    finally:
        await timed.close()


async def test_expires_at_without_a_time_zone_is_refused(store):
    with pytest.raises(InvalidField) as caught:
        await store.put_suppression(entry("a@example.com", expires_at=datetime(2030, 1, 1)), actor="t")
    assert caught.value.field == "expires_at"


# --- the hot path ---------------------------------------------------------------------------------


async def test_find_answers_address_and_domain_keys_in_one_dict(store):
    await store.put_suppression(entry("a@example.com"), actor="t")
    await store.put_suppression(entry("spamtrap.example", SuppressionReason.MANUAL), actor="t")
    found = await store.find_suppressions(
        ["a@example.com", "b@example.com", "c@spamtrap.example"], ["example.com", "spamtrap.example"]
    )
    assert set(found) == {"a@example.com", "spamtrap.example"}
    assert found["spamtrap.example"].kind is DOMAIN and found["a@example.com"].kind is ADDRESS
    assert await store.find_suppressions([], []) == {}


async def test_find_10000_addresses_is_chunked_and_independent_of_input_order(store):
    addresses = [f"user{i}@example{i % 7}.com" for i in range(10_000)]
    suppressed = set(addresses[::3])
    await store.put_suppressions_bulk([entry(a) for a in sorted(suppressed)], actor="t")
    found = await store.find_suppressions(addresses)
    assert set(found) == suppressed and all(found[a].value == a for a in found)
    shuffled = random.Random(7).sample(addresses, len(addresses)) + addresses[:50]  # plus duplicates
    assert await store.find_suppressions(shuffled) == found


# --- listing, paging, export ------------------------------------------------------------------------


async def test_paging_is_stable_while_rows_are_inserted_and_updated(store):
    await store.put_suppressions_bulk([entry(f"u{i:03}@example.com") for i in range(250)], actor="t")
    at_start = {f"u{i:03}@example.com" for i in range(250)}
    seen: list[str] = []
    cursor, n = None, 0
    while True:
        page, cursor = await store.list_suppressions(cursor, 40)
        seen += [s.value for s in page]
        n += 1  # meanwhile: new rows, and updates of rows already seen and not yet seen
        await store.put_suppression(entry(f"new{n}@example.com"), actor="t")
        await store.put_suppression(entry(f"u{(n * 37) % 250:03}@example.com", SuppressionReason.COMPLAINT), actor="t")
        if cursor is None:
            break
    assert len(seen) == len(set(seen)), "a row was returned twice"
    assert at_start <= set(seen), f"rows skipped: {sorted(at_start - set(seen))[:5]}"


async def test_list_filters_by_kind_reason_source_and_since(store):
    await store.put_suppression(entry("a@example.com", source="bounces"), actor="t")
    await store.put_suppression(entry("b@example.com", SuppressionReason.UNSUBSCRIBE, source="esp"), actor="t")
    await store.put_suppression(entry("example.org", SuppressionReason.MANUAL), actor="t")
    middle = datetime.now(UTC)
    await asyncio.sleep(0.002)
    await store.put_suppression(entry("a@example.com", SuppressionReason.COMPLAINT, source="bounces"), actor="t")

    async def values(**filters: Any) -> list[str]:
        return [s.value for s in (await store.list_suppressions(None, 100, **filters))[0]]

    assert await values(kind=DOMAIN) == ["example.org"]
    assert await values(reason=SuppressionReason.UNSUBSCRIBE) == ["b@example.com"]
    assert await values(source="bounces") == ["a@example.com"]
    assert await values(since=middle) == ["a@example.com"]  # updated after `middle`


async def test_a_forged_cursor_is_a_bad_request(store):
    with pytest.raises(InvalidField) as caught:
        await store.list_suppressions("not-a-cursor")
    assert caught.value.field == "cursor"


async def test_iter_streams_every_live_entry_once(store):
    await store.put_suppressions_bulk([entry(f"u{i}@example.com") for i in range(2_345)], actor="t")
    await store.put_suppression(entry("gone@example.com", expires_at=datetime.now(UTC)), actor="t")
    values = [s.value async for s in store.iter_suppressions(page_size=500)]
    assert len(values) == len(set(values)) == 2_345 and "gone@example.com" not in values


# --- bulk import ------------------------------------------------------------------------------------


async def test_bulk_import_is_idempotent_and_counts_only_real_changes(store_url, store):
    rows = [entry(f"u{i}@example.com", detail=f"line {i}") for i in range(2_500)]  # three transactions
    first = await store.put_suppressions_bulk(rows, actor="import", why="file.csv")
    assert (first.added, first.updated, first.unchanged) == (2_500, 0, 0)
    again = await store.put_suppressions_bulk(iter(rows), actor="import")
    assert (again.added, again.updated, again.unchanged) == (0, 0, 2_500)
    changed = (
        rows[:10]
        + [entry(f"u{i}@example.com", SuppressionReason.COMPLAINT, detail=f"line {i}") for i in range(10, 20)]
        + [entry("fresh@example.com")]
    )
    third = await store.put_suppressions_bulk(changed, actor="import")
    assert (third.added, third.updated, third.unchanged) == (1, 10, 10)
    # the 10 updates keep an audit row each (their before); the 2,501 creations one record per batch
    assert (await query(store_url, "SELECT count(*) FROM suppression_audit"))[0][0] == 10
    assert await query(store_url, "SELECT added FROM suppression_batches ORDER BY id") == [
        (1000,),
        (1000,),
        (500,),
        (1,),
    ]


async def test_a_key_repeated_in_one_import_counts_once_and_the_last_wins(store):
    result = await store.put_suppressions_bulk(
        [entry("a@example.com"), entry("a@example.com", SuppressionReason.UNSUBSCRIBE)], actor="t"
    )
    assert (result.added, result.updated, result.unchanged) == (1, 0, 1)
    assert (await store.get_suppression(ADDRESS, "a@example.com")).reason is SuppressionReason.UNSUBSCRIBE


# --- concurrency and durability ------------------------------------------------------------------


async def test_concurrent_writers_lose_no_row_and_add_a_key_once(store):
    async def writer(n: int) -> None:
        for i in range(20):
            await store.put_suppression(entry(f"w{n}-{i}@example.com"), actor=f"task:{n}")

    results = await asyncio.gather(
        *[writer(n) for n in range(25)],
        *[store.put_suppression(entry("same@example.com"), actor="t") for _ in range(20)],
    )
    assert sum(1 for r in results[25:] if r[1]) == 1, "one writer adds the shared key, the others find it"
    everything = [s.value async for s in store.iter_suppressions()]
    assert len(everything) == len(set(everything)) == 25 * 20 + 1


async def test_calls_cancelled_midway_leave_the_store_usable(store):
    await store.put_suppression(entry("a@example.com"), actor="t")
    many = [f"u{i}@example.com" for i in range(5_000)]
    for _ in range(10):  # cancelled while waiting for a connection, mid-query, or between chunks
        with contextlib.suppress(TimeoutError):
            await asyncio.gather(*[asyncio.wait_for(store.find_suppressions(many), 0.001) for _ in range(15)])
    assert set(await store.find_suppressions(["a@example.com", *many])) == {"a@example.com"}


async def test_an_acknowledged_write_survives_kill_9(store_url):
    script = textwrap.dedent(f"""
        import asyncio, os, sys
        from validator.model import SuppressionEntry, SuppressionKind, SuppressionReason
        from validator.store import open_store
        async def main():
            store = await open_store({store_url!r})
            await store.put_suppression(SuppressionEntry(SuppressionKind.ADDRESS, "durable@example.com",
                                        SuppressionReason.UNSUBSCRIBE, "test"), actor="t")
            print("acknowledged", flush=True)
            await asyncio.sleep(60)
        asyncio.run(main())
    """)
    child = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "acknowledged"
    finally:
        child.kill()  # SIGKILL: no cleanup, no close(), no checkpoint
        child.wait()
    reopened = await open_store(store_url)
    try:
        assert await reopened.get_suppression(ADDRESS, "durable@example.com") is not None
    finally:
        await reopened.close()


# --- API keys -------------------------------------------------------------------------------------


async def test_a_key_verifies_until_revoked(store):
    key, token = await store.create_api_key("billing", ["validate", "suppressions:read"])
    assert token.startswith(f"vk_{key.id}_") and key.scopes == {"validate", "suppressions:read"}
    assert await store.verify_api_key(token) == key
    assert await store.revoke_api_key("billing") is True
    assert await store.verify_api_key(token) is None
    assert await store.revoke_api_key(key.id) is False  # already revoked
    [listed] = await store.list_api_keys()
    assert listed.id == key.id and listed.revoked


async def test_a_wrong_secret_or_a_malformed_token_does_not_verify(store):
    key, token = await store.create_api_key("ci", ["validate"])
    secret = token[len(f"vk_{key.id}_") :]  # the secret itself may contain "_"
    forged = f"vk_{key.id}_" + ("A" if secret[0] != "A" else "B") + secret[1:]  # right id, wrong secret
    for bad in (forged, f"vk_{key.id}_", token[:-1], "vk_0123456789abcdef_" + secret, "Bearer " + token, ""):
        assert await store.verify_api_key(bad) is None, bad
    assert await store.verify_api_key(token) == key


async def test_key_names_are_unique_among_active_keys(store):
    first, _ = await store.create_api_key("deploy", ["admin"])
    with pytest.raises(Conflict):
        await store.create_api_key("deploy", ["admin"])
    assert await store.revoke_api_key(first.id)
    second, token = await store.create_api_key("deploy", ["validate"])  # the name is free again
    assert await store.verify_api_key(token) == second
    assert [k.name for k in await store.list_api_keys()] == ["deploy", "deploy"]


async def test_a_revocation_elsewhere_takes_effect_within_the_cache_ttl(store_url):
    here = await open_store(store_url, key_cache_ttl=0.3)
    elsewhere = await open_store(store_url)
    try:
        key, token = await here.create_api_key("replica", ["validate"])
        assert await here.verify_api_key(token) == key  # now cached here
        assert await elsewhere.revoke_api_key(key.id)
        await asyncio.sleep(0.35)
        assert await here.verify_api_key(token) is None
    finally:
        await here.close()
        await elsewhere.close()


async def test_recall_answers_only_tokens_verified_within_the_cache_ttl(store_url):
    # The middleware's hot path: recall_api_key answers without awaiting, from verify_api_key's cache.
    here = await open_store(store_url, key_cache_ttl=0.3)
    try:
        key, token = await here.create_api_key("form", ["validate"])
        assert here.recall_api_key(token) is None  # never verified: ask verify_api_key
        assert await here.verify_api_key(token[:-1] + "x") is None
        assert here.recall_api_key(token[:-1] + "x") is None  # a failure is never cached
        assert await here.verify_api_key(token) == key
        assert here.recall_api_key(token) == key
        await asyncio.sleep(0.35)
        assert here.recall_api_key(token) is None  # expired
        assert (await here.verify_api_key(token)).id == key.id  # type: ignore[union-attr]
        assert here.recall_api_key(token) is not None
        assert await here.revoke_api_key(key.id)
        assert here.recall_api_key(token) is None  # revoked through this store: at once
    finally:
        await here.close()


async def test_verification_records_last_use(store):
    key, token = await store.create_api_key("ops", ["validate"])
    await store.verify_api_key(token)
    for _ in range(50):  # written in the background, off the request's path
        [listed] = await store.list_api_keys()
        if listed.last_used_at is not None:
            break
        await asyncio.sleep(0.02)
    assert listed.last_used_at is not None and listed.last_used_at >= key.created_at


def _every_file_beside(path: Path) -> bytes:
    """The database, its -wal and -shm, and the snapshots written beside it.

    A snapshot is written in the background to a temporary name and renamed, so a file listed a
    moment ago may be gone: list again until one listing reads whole.
    """
    for _ in range(20):
        try:
            return b"".join(p.read_bytes() for p in path.parent.iterdir())
        except FileNotFoundError:
            continue
    raise AssertionError(f"files beside {path} kept vanishing while read")


async def test_tokens_are_not_stored_in_clear(store_url, store):
    _, token = await store.create_api_key("secret-keeper", ["admin"])
    secret = token[len(f"vk_{token.split('_')[1]}_") :]
    if store_url.startswith("sqlite"):
        stored = _every_file_beside(Path(store_url.removeprefix("sqlite:///")))
        assert secret.encode() not in stored and token.encode() not in stored
    else:
        dump = " ".join(map(str, await query(store_url, "SELECT * FROM api_keys")))
        assert secret not in dump and token not in dump


# --- schema, health, failures ----------------------------------------------------------------------


async def test_migrations_are_applied_once_however_often_the_store_opens(store_url, store):
    await store.put_suppression(entry("kept@example.com"), actor="t")
    again = await open_store(store_url)
    try:
        assert await again.get_suppression(ADDRESS, "kept@example.com") is not None
    finally:
        await again.close()
    versions = await query(store_url, "SELECT version FROM schema_migrations ORDER BY version")
    assert versions == [(m.version,) for m in MIGRATIONS]


async def test_ping_answers_and_a_closed_store_is_unavailable(store_url):
    opened = await open_store(store_url)
    await opened.ping()
    await opened.close()
    with pytest.raises(StoreUnavailable):
        await opened.ping()


async def test_sqlite_in_an_impossible_location_is_unavailable(tmp_path):
    (tmp_path / "file").write_text("a file where a directory should be")
    with pytest.raises(StoreUnavailable) as caught:
        await open_store(f"sqlite:///{tmp_path}/file/validator.sqlite3")
    assert caught.value.code == "store_unavailable" and caught.value.__cause__ is not None


async def test_sqlite_creates_missing_directories_for_a_relative_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    opened = await open_store("sqlite:///data/nested/validator.sqlite3")
    await opened.close()
    assert (tmp_path / "data" / "nested" / "validator.sqlite3").is_file()


async def test_a_locked_sqlite_store_refuses_writes_but_still_answers_reads(tmp_path):
    url = f"sqlite:///{tmp_path}/validator.sqlite3"
    opened = await open_store(url, timeout=0.1)
    await opened.put_suppression(entry("a@example.com"), actor="t")
    holder = sqlite3.connect(tmp_path / "validator.sqlite3", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holding the write lock
    try:
        with pytest.raises(StoreUnavailable, match="locked"):
            await opened.put_suppression(entry("b@example.com"), actor="t")
        assert await opened.get_suppression(ADDRESS, "a@example.com") is not None  # WAL: readers go on
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    await opened.put_suppression(entry("b@example.com"), actor="t")  # and writes resume
    assert isinstance(opened, SqliteStore)
    await opened.close()


async def test_sqlite_lookups_do_not_pin_the_wal_during_an_import(tmp_path):
    opened = await open_store(f"sqlite:///{tmp_path}/validator.sqlite3")
    try:
        await opened.find_suppressions(["a@example.com"], ["example.com"])  # the loop's reader takes a snapshot
        await opened.put_suppressions_bulk(
            [entry(f"u{i}@example.com", detail="550 5.1.1") for i in range(30_000)], actor="t"
        )
        wal = (tmp_path / "validator.sqlite3-wal").stat().st_size
        assert wal < 8_000_000, f"the WAL grew to {wal:,} bytes: checkpoints could not pass a held snapshot"
    finally:
        await opened.close()


async def test_postgres_on_a_closed_port_is_unavailable(postgres_admin_url):
    with pytest.raises(StoreUnavailable) as caught:
        await open_store("postgresql://postgres@127.0.0.1:1/validator", timeout=2)
    assert caught.value.__cause__ is not None


class TcpRelay:
    """A TCP relay to the PostgreSQL server that a test can take down and bring back on one port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target, self.port = target, 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:  # like a server going down: refuse new connections, cut the old
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.transport.abort()
        await self._server.wait_closed()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            while data := await src.read(65536):
                dst.write(data)
            dst.transport.abort()

        with contextlib.suppress(OSError):
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


async def test_postgres_recovers_without_restart_when_the_server_comes_back(postgres_url):
    parts = urlsplit(postgres_url)
    relay = TcpRelay((parts.hostname, parts.port or 5432))
    await relay.start()
    opened = await open_store(parts._replace(netloc=f"{parts.username}@127.0.0.1:{relay.port}").geturl(), timeout=1)
    try:
        await opened.put_suppression(entry("a@example.com"), actor="t")
        await relay.stop()
        for call in (
            opened.ping(),
            opened.get_suppression(ADDRESS, "a@example.com"),
            opened.put_suppression(entry("b@example.com"), actor="t"),
        ):
            with pytest.raises(StoreUnavailable):
                await call
        await relay.start()  # the same port: the server is back
        await opened.ping()
        await opened.put_suppression(entry("b@example.com"), actor="t")
        assert set(await opened.find_suppressions(["a@example.com", "b@example.com"])) == {
            "a@example.com",
            "b@example.com",
        }
    finally:
        await opened.close()
        await relay.stop()


async def test_postgres_recovers_when_its_connections_are_killed(postgres_url):
    opened = await open_store(postgres_url, pool_size=3)
    try:
        await opened.put_suppression(entry("a@example.com"), actor="t")
        name = postgres_url.rsplit("/", 1)[1]
        killed = await query(
            postgres_url.rsplit("/", 1)[0] + "/postgres",
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'",
        )
        assert killed, "the store held no connection to kill"
        assert await opened.get_suppression(ADDRESS, "a@example.com") is not None
        await query(
            postgres_url.rsplit("/", 1)[0] + "/postgres",
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'",
        )
        await opened.put_suppression(entry("b@example.com"), actor="t")  # a write on a dead connection
        assert set(await opened.find_suppressions(["a@example.com", "b@example.com"])) == {
            "a@example.com",
            "b@example.com",
        }
    finally:
        await opened.close()
