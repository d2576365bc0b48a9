"""A store that cannot be written says so on /readyz, and comes back by itself once it can.

Read-only for real, not simulated:

- SQLite: the database file is made unwritable before the service starts. As an ordinary user
  that is ``chmod 0444``. Tests here often run as root, whom permission bits do not stop, so as
  root the file gets the immutable attribute (``chattr +i``, ext2/3/4, xfs, btrfs), which refuses
  writes to root too: SQLite then opens it read-only exactly as it does a file it may not write.
- PostgreSQL: ``ALTER DATABASE ... SET default_transaction_read_only = on`` (what a standby answers
  too: SQLSTATE 25006 on every write), set from the maintenance database and always reset after.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.support.settings import make_settings
from validator.api import create_app
from validator.model import SuppressionEntry, SuppressionKind, SuppressionReason
from validator.store import open_store

KEPT = "kept@example.com"  # stored before the database turned read-only: reads must still find it


def _chattr(flag: str, path: Path) -> None:
    result = subprocess.run(["chattr", flag, str(path)], capture_output=True, text=True)
    if result.returncode:
        pytest.fail(
            f"chattr {flag} {path} failed ({result.stderr.strip()}): running as root, this test needs a "
            "file system with the immutable attribute (ext4, xfs, btrfs) for its temporary files"
        )


@contextlib.contextmanager
def unwritable(path: Path) -> Iterator[None]:
    """``path`` refuses writes until the block ends or ``writable(path)`` is called."""
    if os.geteuid() == 0:
        _chattr("+i", path)
    else:
        path.chmod(0o444)
    try:
        yield
    finally:
        writable(path)


def writable(path: Path) -> None:
    if os.geteuid() == 0:
        _chattr("-i", path)
    else:
        path.chmod(0o644)


@contextlib.asynccontextmanager
async def read_only_database(url: str, admin_url: str) -> AsyncIterator[Callable[[], Awaitable[None]]]:
    """New sessions of this PostgreSQL database begin read-only until the block ends or the
    yielded ``end()`` is awaited."""
    import asyncpg

    name = urlsplit(url).path.lstrip("/")
    admin = await asyncpg.connect(admin_url)

    async def end() -> None:
        await admin.execute(f'ALTER DATABASE "{name}" RESET default_transaction_read_only')

    try:
        await admin.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
        yield end
    finally:
        await end()
        await admin.close()


async def _seeded(url: str) -> None:
    store = await open_store(url)
    try:
        await store.put_suppression(
            SuppressionEntry(SuppressionKind.ADDRESS, KEPT, SuppressionReason.COMPLAINT, "test"), actor="t"
        )
    finally:
        await store.close()


async def _check_read_only_then_recovered(aiohttp_client, caplog, url: str, make_writable) -> None:
    settings = make_settings(database_url=url)
    with caplog.at_level(logging.WARNING, logger="validator"):
        client = await aiohttp_client(create_app(settings))  # starts although the store cannot write
    assert any("read-only" in r.getMessage() and "/readyz" in r.getMessage() for r in caplog.records)
    ready = await client.get("/readyz")
    assert ready.status == 503
    assert (await ready.json())["reason"] == "store_read_only"
    refused = await client.put("/v1/suppressions/new@example.com", json={"reason": "unsubscribe"})
    assert refused.status == 503 and (await refused.json())["error"]["code"] == "store_read_only"
    assert refused.headers["Retry-After"]
    assert (await client.get(f"/v1/suppressions/{KEPT}")).status == 200  # reads still work

    await make_writable()  # the operator fixes the permissions; no restart follows
    ready = await client.get("/readyz")
    assert (ready.status, (await ready.json())["status"]) == (200, "ready")
    stored = await client.put("/v1/suppressions/new@example.com", json={"reason": "unsubscribe"})
    assert stored.status in (200, 201), await stored.text()
    assert (await client.get("/v1/suppressions/new@example.com")).status == 200  # the loop's reader sees it
    listed = await (await client.get("/v1/suppressions")).json()  # and so does the scan thread
    assert {item["value"] for item in listed["items"]} == {KEPT, "new@example.com"}


async def test_read_only_sqlite_file_is_not_ready_and_recovers_without_restart(aiohttp_client, caplog, tmp_path):
    path = tmp_path / "validator.sqlite3"
    url = f"sqlite:///{path}"
    await _seeded(url)
    with unwritable(path):

        async def make_writable() -> None:
            writable(path)

        await _check_read_only_then_recovered(aiohttp_client, caplog, url, make_writable)


async def test_read_only_postgres_database_is_not_ready_and_recovers_without_restart(
    aiohttp_client, caplog, postgres_url, postgres_admin_url
):
    await _seeded(postgres_url)
    async with read_only_database(postgres_url, postgres_admin_url) as end:
        await _check_read_only_then_recovered(aiohttp_client, caplog, postgres_url, end)
