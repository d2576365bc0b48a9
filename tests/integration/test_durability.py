"""Acknowledged writes survive kill -9; a locked store answers 503 and the service recovers."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.support.processes import env_for, free_port, wait_for


def _request(url: str, method: str = "GET", body: bytes | None = None, token: str | None = None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


@pytest.fixture
def service(dns, tmp_path: Path):
    """A real `validator serve` process on a real SQLite file, restartable."""
    port = free_port()
    env = env_for(dns, VALIDATOR_DATABASE_URL=f"sqlite:///{tmp_path}/v.sqlite3", VALIDATOR_STORE_TIMEOUT="0.3")
    token = subprocess.run(
        [sys.executable, "-m", "validator", "keys", "create", "--name", "t", "--scope", "admin"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout.strip()
    processes: list[subprocess.Popen[bytes]] = []

    def start() -> str:
        process = subprocess.Popen(
            [sys.executable, "-m", "validator", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        processes.append(process)
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/healthz", time.monotonic() + 20)
        return base

    yield start, processes, token, tmp_path / "v.sqlite3"
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_acknowledged_writes_survive_kill_9(service):
    start, processes, token, _ = service
    base = start()
    for i in range(50):
        status, _, _ = _request(f"{base}/v1/suppressions/u{i}@example.com", "PUT", b'{"reason": "hard_bounce"}', token)
        assert status == 201
    os.kill(processes[-1].pid, signal.SIGKILL)  # no shutdown, no checkpoint: the 2xx must already be durable
    processes[-1].wait()
    base = start()
    status, _, body = _request(f"{base}/v1/suppressions?limit=100", token=token)
    assert status == 200
    assert len(json.loads(body)["items"]) == 50


def test_locked_store_answers_503_then_recovers(service):
    start, _, token, path = service
    base = start()
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # another process holds the write lock (a long migration, a backup tool)
    try:
        status, headers, body = _request(f"{base}/v1/suppressions/a@example.com", "PUT", b'{"reason": "manual"}', token)
        assert status == 503
        assert json.loads(body)["error"]["code"] == "store_unavailable"
        assert int(headers["Retry-After"]) > 0
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    status, _, _ = _request(f"{base}/v1/suppressions/a@example.com", "PUT", b'{"reason": "manual"}', token)
    assert status == 201  # no restart needed


async def test_another_process_write_is_seen_within_the_snapshot_window(tmp_path: Path):
    # two stores on one file stand for two worker processes (VALIDATOR_WORKERS) or a CLI and a server
    from validator.model import SuppressionEntry, SuppressionKind, SuppressionReason
    from validator.store import open_store
    from validator.store.sqlite import SNAPSHOT_SECONDS

    url = f"sqlite:///{tmp_path}/shared.sqlite3"
    server, cli = await open_store(url), await open_store(url)
    try:
        assert await server.find_suppressions(["a@example.com"], ["example.com"]) == {}
        entry = SuppressionEntry(SuppressionKind.ADDRESS, "a@example.com", SuppressionReason.MANUAL, "cli")
        await cli.put_suppression(entry, actor="cli:test")
        deadline = time.monotonic() + SNAPSHOT_SECONDS + 0.5
        while not await server.find_suppressions(["a@example.com"], ["example.com"]):
            assert time.monotonic() < deadline, "the other process's write was not seen in time"
            await asyncio.sleep(0.05)
    finally:
        await server.close()
        await cli.close()


async def test_a_big_import_by_another_process_is_never_missed(tmp_path: Path):
    # more new keys than the key filter pulls on the loop: it is dropped and rebuilt off the loop,
    # and no lookup in between may answer "not suppressed" for a stored key
    from validator.model import SuppressionEntry, SuppressionKind, SuppressionReason
    from validator.store import open_store
    from validator.store.sqlite import FILTER_PULL_MAX, SNAPSHOT_SECONDS

    url = f"sqlite:///{tmp_path}/shared.sqlite3"
    server, importer = await open_store(url), await open_store(url)
    try:
        count = FILTER_PULL_MAX + 500
        entries = (
            SuppressionEntry(SuppressionKind.ADDRESS, f"u{i}@example.com", SuppressionReason.HARD_BOUNCE, "import")
            for i in range(count)
        )
        await importer.put_suppressions_bulk(entries, actor="cli:test")
        await asyncio.sleep(SNAPSHOT_SECONDS + 0.1)
        probes = [f"u{i}@example.com" for i in range(0, count, 97)]
        for _ in range(5):  # during and after the rebuild
            for address in probes:
                assert address in await server.find_suppressions([address], ["example.com"])
            await asyncio.sleep(0.1)
        assert await server.find_suppressions(["nobody@example.com"], ["example.com"]) == {}
    finally:
        await server.close()
        await importer.close()


async def test_soft_bounce_streaks_of_another_process_are_never_missed(tmp_path: Path):
    # streak lookups skip SQLite through a key filter fed by delivery event ids: a streak stored
    # before this store opened, one ingested by another process, and a burst of more events than
    # the filter pulls on the loop must all be found
    from datetime import UTC, datetime

    from validator.bounces.facts import BounceFact, BounceReason, EventKind
    from validator.bounces.ingest import Ingestor
    from validator.bounces.policy import LearningPolicy
    from validator.store import open_store
    from validator.store.sqlite import FILTER_PULL_MAX, SNAPSHOT_SECONDS

    def soft(address: str, message_id: str) -> BounceFact:
        return BounceFact(
            address,
            EventKind.BOUNCE,
            reason=BounceReason.MAILBOXFULL,
            reply_code=452,
            status="4.2.2",
            message_id=message_id,
            timestamp=datetime(2026, 1, 1, tzinfo=UTC),
        )

    async def ingest(store, facts: list[BounceFact]) -> None:
        await Ingestor(store, LearningPolicy()).ingest(facts, source="test", actor="tester")

    async def found(store, address: str) -> bool:
        return address in await store.find_soft_streaks([address])

    url = f"sqlite:///{tmp_path}/shared.sqlite3"
    ingester = await open_store(url)
    await ingest(ingester, [soft("before@example.com", "m0")])
    server = await open_store(url)
    try:
        assert await found(server, "before@example.com")
        assert not await found(server, "nobody@example.com")
        await ingest(ingester, [soft("later@example.com", "m1")])
        deadline = time.monotonic() + SNAPSHOT_SECONDS + 0.5
        while not await found(server, "later@example.com"):
            assert time.monotonic() < deadline, "the other process's streak was not seen in time"
            await asyncio.sleep(0.05)
        burst = [soft(f"b{i}@example.com", f"m{i}") for i in range(FILTER_PULL_MAX + 500)]
        await ingest(ingester, burst)
        await asyncio.sleep(SNAPSHOT_SECONDS + 0.1)
        for _ in range(5):  # during and after the filter's rebuild
            for i in range(0, len(burst), 97):
                assert await found(server, f"b{i}@example.com")
            await asyncio.sleep(0.1)
        assert server._streak_keys.filter is not None  # rebuilt: lookups skip SQLite again
        assert not await found(server, "nobody@example.com")
    finally:
        await server.close()
        await ingester.close()


def test_acknowledged_events_survive_kill_9_and_replaying_them_changes_nothing(service):
    start, processes, token, _ = service
    base = start()
    batches = [
        "\n".join(
            json.dumps(
                {
                    "event": "bounce",
                    "email": f"gone{b}-{i}@example.com",
                    "smtp_code": 550,
                    "smtp_enhanced_code": "5.1.1",
                    "smtp_message": "user unknown",
                    "id": f"e{b}-{i}",
                    "timestamp": "2026-03-15T08:42:11Z",
                }
            )
            for i in range(50)
        ).encode()
        for b in range(10)
    ]
    for body in batches:
        status, _, answer = _request_as(f"{base}/v1/events", body, token, "application/x-ndjson")
        assert status == 200, answer
        assert json.loads(answer)["actions"] == {"suppressed": 50}
    os.kill(processes[-1].pid, signal.SIGKILL)  # right after the last 2xx
    processes[-1].wait()
    base = start()
    status, _, body = _request(f"{base}/v1/suppressions?limit=1000", token=token)
    assert len(json.loads(body)["items"]) == 500
    status, _, answer = _request_as(f"{base}/v1/events", batches[3], token, "application/x-ndjson")
    assert json.loads(answer)["actions"] == {"duplicate": 50}


def _request_as(url: str, body: bytes, token: str, content_type: str):
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": content_type, "Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()
