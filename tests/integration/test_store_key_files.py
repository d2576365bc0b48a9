"""The SQLite store's key filter lives once per host, in a file beside the database that every
process maps: one process builds and extends it, the others only read it, a restart maps it
again instead of scanning the list, a file that does not match the store is never trusted, and
bursts of writes by another process or growth past capacity extend it without a full rebuild.
Throughout, a stored key is never answered as absent."""

from __future__ import annotations

import asyncio
import logging
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench.scale_seed import seed_suppressions, suppressed_address
from validator.model import SuppressionEntry, SuppressionKind, SuppressionReason
from validator.store import open_store
from validator.store.sqlite import SNAPSHOT_SECONDS
from validator.store.sqlite.keyfeed import REBUILD_GAP
from validator.store.sqlite.keyfile import KeeperLock, KeyFile

_WRITER = """
import asyncio, sys
from validator.model import SuppressionEntry, SuppressionKind, SuppressionReason
from validator.store import open_store

async def main(url, prefix, count):
    store = await open_store(url, key_filters=False)  # as the job child: no filter of its own
    try:
        entries = (
            SuppressionEntry(SuppressionKind.ADDRESS, f"{prefix}{i}@burst.example", SuppressionReason.HARD_BOUNCE, "t")
            for i in range(count)
        )
        await store.put_suppressions_bulk(entries, actor="cli:writer")
    finally:
        await store.close()

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
"""


def _write_in_another_process(url: str, prefix: str, count: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", _WRITER, url, prefix, str(count)])


async def _ready(store, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        store._stale = True  # a fresh snapshot: it sees every write committed so far, by any process
        await store.ping()  # the renewal pulls the file's header and the keys stored since
        if store.key_filters_building == 0:
            return
        assert time.monotonic() < deadline, "the key filters never took over"
        await asyncio.sleep(0.05)


async def _suppressed(store, addresses: list[str]) -> list[bool]:
    found = await store.find_suppressions(addresses)
    return [a in found for a in addresses]


def _entry(address: str) -> SuppressionEntry:
    return SuppressionEntry(SuppressionKind.ADDRESS, address, SuppressionReason.MANUAL, "test")


def _key_file(database: Path) -> Path:
    return Path(f"{database}-suppressions.keys")


async def test_workers_map_one_file_and_a_restart_maps_it_again(tmp_path: Path, caplog):
    caplog.set_level(logging.INFO, logger="validator.store")
    database = tmp_path / "v.sqlite3"
    url = f"sqlite:///{database}"
    first = await open_store(url)
    seed_suppressions(database, 50_000)
    await first.put_suppression(_entry("late@one.example"), actor="t")
    second = await open_store(url)
    try:
        await _ready(first)
        await _ready(second)
        builds = [r for r in caplog.records if "key filter built: suppressions" in r.getMessage()]
        assert len(builds) == 1  # one build for the host, not one per process
        inode = _key_file(database).stat().st_ino
        for store in (first, second):
            assert store._suppression_keys._file.inode == inode  # both map the same file
        probes = [suppressed_address(n) for n in range(0, 50_000, 997)] + ["late@one.example"]
        for store in (first, second):
            assert all(await _suppressed(store, probes))
            assert await _suppressed(store, ["never@stored.example"]) == [False]
    finally:
        await first.close()
        await second.close()
    caplog.clear()
    again = await open_store(url)
    try:
        await _ready(again, seconds=5)
        assert not [r for r in caplog.records if "key filter built" in r.getMessage()]  # mapped, not rebuilt
        assert all(await _suppressed(again, probes))
    finally:
        await again.close()


async def test_a_key_file_of_another_database_is_not_trusted(tmp_path: Path):
    # the same list in two databases: equal keys at equal ids, but each database has its own token
    ours, theirs = tmp_path / "ours.sqlite3", tmp_path / "theirs.sqlite3"
    for database in (ours, theirs):
        await (await open_store(f"sqlite:///{database}", key_filters=False)).close()  # the schema
    store = await open_store(f"sqlite:///{theirs}")
    seed_suppressions(theirs, 1_000)
    await _ready(store)
    await store.close()
    plain = await open_store(f"sqlite:///{ours}", key_filters=False)
    seed_suppressions(ours, 1_000)
    await plain.put_suppression(_entry("only@ours.example"), actor="t")
    await plain.close()
    shutil.copy(_key_file(theirs), _key_file(ours))  # a stale file left beside our database
    store = await open_store(f"sqlite:///{ours}")
    try:
        for _ in range(20):  # before, during and after the rebuild
            assert await _suppressed(store, ["only@ours.example"]) == [True]
            await asyncio.sleep(0.05)
        await _ready(store)
        assert await _suppressed(store, ["only@ours.example", "never@stored.example"]) == [True, False]
    finally:
        await store.close()


async def test_a_database_restored_from_an_older_copy_and_written_since_rebuilds_its_file(tmp_path: Path):
    database = tmp_path / "v.sqlite3"
    url = f"sqlite:///{database}"
    store = await open_store(url)
    await store.put_suppression(_entry("kept@old.example"), actor="t")
    await store.close()
    shutil.copy(database, tmp_path / "copy.sqlite3")  # closed: the WAL was checkpointed into the file
    store = await open_store(url)
    await store.put_suppressions_bulk((_entry(f"gone{i}@new.example") for i in range(100)), actor="t")
    await _ready(store)  # the file now holds ids 1..101
    await store.close()
    shutil.copy(tmp_path / "copy.sqlite3", database)  # the restore: ids 2.. will be given again
    store = await open_store(url, key_filters=False)
    await store.put_suppressions_bulk((_entry(f"other{i}@new.example") for i in range(150)), actor="t")
    await store.close()
    store = await open_store(url)
    try:
        await _ready(store)
        wanted = ["kept@old.example", "other0@new.example", "other99@new.example", "other149@new.example"]
        assert await _suppressed(store, wanted) == [True] * 4
    finally:
        await store.close()


async def test_a_burst_from_another_process_extends_the_file_without_a_rebuild(tmp_path: Path, caplog):
    caplog.set_level(logging.INFO, logger="validator.store")
    database = tmp_path / "v.sqlite3"
    url = f"sqlite:///{database}"
    store = await open_store(url)
    try:
        seed_suppressions(database, 20_000)
        await _ready(store)
        inode = _key_file(database).stat().st_ino
        caplog.clear()
        writer = _write_in_another_process(url, "b", 10_000)
        probes = [f"b{i}@burst.example" for i in range(0, 10_000, 101)]
        while writer.poll() is None:  # during the import: every stored key is found
            found = await store.find_suppressions(probes)
            if found:
                written = max(int(a[1:].split("@")[0]) for a in found)
                assert all(f"b{i}@burst.example" in found for i in range(0, written, 101))
            await asyncio.sleep(0.02)
        assert writer.returncode == 0
        await asyncio.sleep(SNAPSHOT_SECONDS + 0.1)  # another process's writes are seen within this
        for _ in range(10):  # and while the filter catches up
            assert all(await _suppressed(store, probes))
            await asyncio.sleep(0.1)
        await _ready(store)
        assert all(await _suppressed(store, probes))
        assert await _suppressed(store, ["b10000@burst.example"]) == [False]
        assert _key_file(database).stat().st_ino == inode  # extended in place
        assert not [r for r in caplog.records if "key filter built" in r.getMessage()]
    finally:
        await store.close()


async def test_growth_past_capacity_adds_a_layer_instead_of_rebuilding(tmp_path: Path, caplog):
    caplog.set_level(logging.INFO, logger="validator.store")
    database = tmp_path / "v.sqlite3"
    url = f"sqlite:///{database}"
    store = await open_store(url)
    other = await open_store(url)  # a second worker: it maps the new layer too
    try:
        await _ready(store)
        path = _key_file(database)
        capacity = sum(nbits for nbits, _ in KeyFile.open(path, writable=False).state().layers) // 10
        caplog.clear()
        seed_suppressions(database, 50_000)  # by another writer, in two steps past the file's capacity
        await _ready(store)
        seed_suppressions(database, capacity - 45_000, start=50_000)
        await _ready(store)
        await _ready(other)
        state = KeyFile.open(path, writable=False).state()
        assert len(state.layers) == 2 and sum(keys for _, keys in state.layers) == capacity + 5_000
        assert [r for r in caplog.records if "layer 2 added" in r.getMessage()]
        assert not [r for r in caplog.records if "key filter built" in r.getMessage()]
        probes = [suppressed_address(n) for n in range(0, capacity + 5_000, 499)] + [
            suppressed_address(capacity + 4_999)
        ]
        for each in (store, other):
            assert all(await _suppressed(each, probes))
            assert await _suppressed(each, ["never@stored.example"]) == [False]
    finally:
        await store.close()
        await other.close()


async def test_another_process_keeps_the_file_when_the_keeper_stops(tmp_path: Path):
    database = tmp_path / "v.sqlite3"
    url = f"sqlite:///{database}"
    keeper = await open_store(url)
    await _ready(keeper)
    follower = await open_store(url)
    try:
        await _ready(follower)
        await keeper.close()
        writer = _write_in_another_process(url, "after", 8_000)  # more than a process pulls on its own
        assert writer.wait(timeout=60) == 0
        await asyncio.sleep(SNAPSHOT_SECONDS + 0.1)  # another process's writes are seen within this
        await _ready(follower)  # only a new keeper can bring the file up to date
        state = KeyFile.open(_key_file(database), writable=False).state()
        assert state.last_id >= 8_000
        assert all(await _suppressed(follower, [f"after{i}@burst.example" for i in range(0, 8_000, 77)]))
    finally:
        await follower.close()


async def test_an_import_bigger_than_the_file_rebuilds_it_while_lookups_go_to_sqlite(tmp_path: Path, caplog):
    caplog.set_level(logging.INFO, logger="validator.store")
    database = tmp_path / "v.sqlite3"
    url = f"sqlite:///{database}"
    store = await open_store(url)
    try:
        await store.put_suppression(_entry("first@one.example"), actor="t")
        await _ready(store)
        inode = _key_file(database).stat().st_ino
        seed_suppressions(database, REBUILD_GAP + 20_000)  # more new keys than the file holds: one scan
        probes = ["first@one.example"] + [suppressed_address(n) for n in range(0, REBUILD_GAP + 20_000, 1_009)]
        store._stale, deadline = True, time.monotonic() + 60
        while store.key_filters_building == 0 or _key_file(database).stat().st_ino == inode:
            assert all(await _suppressed(store, probes))  # before and during the rebuild
            assert time.monotonic() < deadline, "the file was never rebuilt"
            store._stale = True
            await asyncio.sleep(0.01)
        await _ready(store)
        assert all(await _suppressed(store, probes))
        assert await _suppressed(store, ["never@stored.example"]) == [False]
        assert _key_file(database).stat().st_ino != inode
        assert [r for r in caplog.records if "key filter built: suppressions" in r.getMessage()]
    finally:
        await store.close()


async def test_a_store_without_key_filters_maps_nothing_and_answers_from_sqlite(tmp_path: Path):
    # the job child's store: no file, no keeper, every lookup a query
    database = tmp_path / "v.sqlite3"
    store = await open_store(f"sqlite:///{database}", key_filters=False)
    try:
        await store.put_suppression(_entry("child@one.example"), actor="t")
        assert await _suppressed(store, ["child@one.example", "never@stored.example"]) == [True, False]
        assert await store.find_soft_streaks(["child@one.example"]) == {}
        assert store.key_filters_building == 0
        assert not list(tmp_path.glob("*.keys")) and not list(tmp_path.glob("*.lock"))
    finally:
        await store.close()


_WORKER = """
import asyncio, sys
from validator.model import SuppressionEntry, SuppressionKind, SuppressionReason
from validator.store import open_store

async def main(url):
    store = await open_store(url)  # a server worker: key filters on; opened first, it keeps the files
    try:
        entries = (
            SuppressionEntry(SuppressionKind.ADDRESS, f"w{i}@worker.example", SuppressionReason.HARD_BOUNCE, "t")
            for i in range(8_000)
        )
        await store.put_suppressions_bulk(entries, actor="worker")
        while True:
            store._stale = True
            await store.ping()
            if not store.key_filters_building:
                break
            await asyncio.sleep(0.05)
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the test closes it
    finally:
        await store.close()

asyncio.run(main(sys.argv[1]))
"""


async def test_a_worker_in_another_process_keeps_the_file_this_one_maps_and_extends(tmp_path: Path):
    database = tmp_path / "v.sqlite3"
    url = f"sqlite:///{database}"
    worker = subprocess.Popen(
        [sys.executable, "-c", _WORKER, url], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
        probe = KeeperLock(Path(f"{database}-keys.lock"))
        assert not probe.try_take()  # the other process keeps the files
        probe.release()
        store = await open_store(url)
        try:
            await _ready(store, seconds=10)
            worker_keys = [f"w{i}@worker.example" for i in range(0, 8_000, 53)]
            assert all(await _suppressed(store, worker_keys))
            # this process's own writes: in its own layer at once, then in the file by the other process
            await store.put_suppressions_bulk((_entry(f"mine{i}@here.example") for i in range(300)), actor="t")
            assert all(await _suppressed(store, [f"mine{i}@here.example" for i in range(300)]))
            deadline = time.monotonic() + 10
            while KeyFile.open(_key_file(database), writable=False).state().last_id < 8_300:
                assert time.monotonic() < deadline, "the keeper in the other process did not extend the file"
                await asyncio.sleep(0.05)
            await _ready(store)
            assert all(await _suppressed(store, [f"mine{i}@here.example" for i in range(300)] + worker_keys))
            assert await _suppressed(store, ["never@stored.example"]) == [False]
        finally:
            await store.close()
    finally:
        worker.communicate(timeout=30)  # closes its stdin: it closes its store and exits
    assert worker.returncode == 0


async def test_a_key_file_removed_while_in_use_is_built_again(tmp_path: Path, caplog):
    caplog.set_level(logging.INFO, logger="validator.store")
    database = tmp_path / "v.sqlite3"
    store = await open_store(f"sqlite:///{database}")
    try:
        await store.put_suppression(_entry("kept@one.example"), actor="t")
        await _ready(store)
        caplog.clear()
        _key_file(database).unlink()  # an operator's clean-up: the mapped pages stay valid until unmapped
        assert await _suppressed(store, ["kept@one.example"]) == [True]
        deadline = time.monotonic() + 10
        while not _key_file(database).exists():
            assert time.monotonic() < deadline, "the keeper did not build the file again"
            assert await _suppressed(store, ["kept@one.example"]) == [True]
            await asyncio.sleep(0.05)
        await _ready(store)
        assert await _suppressed(store, ["kept@one.example", "never@stored.example"]) == [True, False]
        assert [r for r in caplog.records if "key filter built: suppressions" in r.getMessage()]
    finally:
        await store.close()
