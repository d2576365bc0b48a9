"""Uploads a dead process left ``receiving``: an admin sees and deletes them, a runner purges them.

The first test makes one for real: a ``validator serve`` process is killed (SIGKILL) while a CSV
upload streams in, after some of its chunks were stored. Real processes, real stores.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from tests.support.processes import env_for, free_port, wait_for
from tests.support.settings import make_settings
from tests.support.stores import chunk_jobs
from validator.api import create_app
from validator.jobs.model import InputRow, JobOptions
from validator.store import open_store

CHUNK_ROWS = 5


def _get(url: str) -> dict | list:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def _serve(env: dict[str, str], port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "validator", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for(f"http://127.0.0.1:{port}/healthz", time.monotonic() + 20)
    return process


def _start_upload(port: int, rows: int) -> socket.socket:
    """A CSV upload that announces far more than it sends: the service stores whole chunks and waits."""
    body = "email\n" + "".join(f"user{n}@example.com\n" for n in range(rows))
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(
        f"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nContent-Length: 1000000\r\n\r\n{body}".encode()
    )
    return sock


async def test_an_upload_cut_by_a_crash_is_listed_and_deleted_by_an_admin(dns, store_url, tmp_path):
    env = env_for(
        dns,
        VALIDATOR_AUTH="false",
        VALIDATOR_DATABASE_URL=store_url,
        VALIDATOR_ACCESS_LOG="false",
        VALIDATOR_JOB_CHUNK_ROWS=str(CHUNK_ROWS),
    )
    port = free_port()
    first = _serve(env, port)
    sock = None
    try:
        sock = _start_upload(port, 4 * CHUNK_ROWS + 2)
        for _ in range(100):
            if await chunk_jobs(store_url):
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # the rest of the chunks the service had read
        os.kill(first.pid, signal.SIGKILL)  # mid-upload: the job stays receiving with its chunks
        first.wait()
    finally:
        if sock is not None:
            sock.close()
        if first.poll() is None:
            first.kill()
            first.wait()
    [abandoned] = await chunk_jobs(store_url)
    port = free_port()
    second = _serve(env, port)
    base = f"http://127.0.0.1:{port}"
    try:
        assert _get(f"{base}/v1/jobs")["items"] == []  # hidden from the usual list, as before
        listed = _get(f"{base}/v1/jobs?status=receiving")["items"]
        assert [(j["id"], j["status"]) for j in listed] == [(abandoned, "receiving")]
        cli = [sys.executable, "-m", "validator", "jobs"]
        shown = subprocess.run(
            [*cli, "list", "--status", "receiving", "--url", base],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        assert [j["id"] for j in json.loads(shown.stdout)] == [abandoned]
        deleted = subprocess.run(
            [*cli, "cancel", abandoned, "--url", base], env=env, capture_output=True, text=True, timeout=30, check=True
        )
        assert f"deleted {abandoned}" in deleted.stderr
        assert _get(f"{base}/v1/jobs?status=receiving")["items"] == []
        assert await chunk_jobs(store_url) == []  # its chunks went with it
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)


async def test_a_runner_purges_uploads_older_than_the_upload_lease(aiohttp_client, dns, store_url):
    store = await open_store(store_url)
    try:  # what a process killed mid-upload leaves behind (the test above makes one for real)
        abandoned = await store.create_job(JobOptions(), created_by="anonymous")
        await store.add_chunk(abandoned.id, 0, [InputRow(1, "a@example.com")])
    finally:
        await store.close()
    await asyncio.sleep(1.2)
    settings = make_settings(dns, database_url=store_url, job_upload_lease_seconds=1.0)
    client = await aiohttp_client(create_app(settings))
    for _ in range(60):
        if not await chunk_jobs(store_url):
            break
        await asyncio.sleep(0.05)
    assert await chunk_jobs(store_url) == []
    assert (await client.get(f"/v1/jobs/{abandoned.id}")).status == 404
    assert (await (await client.get("/v1/jobs?status=receiving")).json())["items"] == []
