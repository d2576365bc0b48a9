"""Jobs belong to the API key that submitted them by its id, on SQLite and PostgreSQL.

Key names are unique only among active keys: a new key named like a revoked one is another
key and must not see the old key's jobs or results. Rows written before ownership by id are
given to the key of that name that was active when the job was created.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import asyncpg

from tests.support.settings import make_settings
from validator.api import create_app
from validator.api.app_keys import STORE
from validator.jobs.model import JobOptions
from validator.store import open_store


async def _execute(store_url: str, *statements: str) -> None:
    """Write behind the store's back (to put a database back at an older schema)."""
    if store_url.startswith("sqlite"):
        with sqlite3.connect(store_url.removeprefix("sqlite:///")) as conn:
            for sql in statements:
                conn.execute(sql)
        return
    conn = await asyncpg.connect(store_url)
    try:
        for sql in statements:
            await conn.execute(sql)
    finally:
        await conn.close()


async def test_a_new_key_reusing_a_revoked_name_sees_none_of_its_jobs(aiohttp_client, dns, store_url):
    store = await open_store(store_url)
    old_token = (await store.create_api_key("team-a", ["jobs"]))[1]
    await store.close()
    settings = make_settings(dns, database_url=store_url, auth=True, job_poll_seconds=0.05)
    client = await aiohttp_client(create_app(settings))
    submitted = await client.post(
        "/v1/jobs", json={"emails": ["a@example.com"]}, headers={"Authorization": f"Bearer {old_token}"}
    )
    location = submitted.headers["Location"]

    store = client.server.app[STORE]  # the service's own store: sees the new key at once
    assert await store.revoke_api_key(old_token.split("_")[1])
    new_token = (await store.create_api_key("team-a", ["jobs"]))[1]
    as_new = {"Authorization": f"Bearer {new_token}"}
    for path in (location, f"{location}/results"):
        response = await client.get(path, headers=as_new)
        assert (response.status, (await response.json())["error"]["code"]) == (404, "not_found")
    assert (await client.delete(location, headers=as_new)).status == 404
    assert (await (await client.get("/v1/jobs", headers=as_new)).json())["items"] == []
    mine = await client.post("/v1/jobs", json={"emails": ["b@example.com"]}, headers=as_new)
    listed = (await (await client.get("/v1/jobs", headers=as_new)).json())["items"]
    assert [job["id"] for job in listed] == [(await mine.json())["id"]]


async def test_existing_jobs_go_to_the_key_active_when_they_were_created(store_url):
    now = [datetime(2026, 3, 1, tzinfo=UTC)]

    def clock() -> datetime:
        now[0] += timedelta(minutes=1)
        return now[0]

    store = await open_store(store_url, clock=clock)
    old_key, _ = await store.create_api_key("team-a", ["jobs"])
    old_job = await store.create_job(JobOptions(), created_by="key:team-a")
    await store.revoke_api_key(old_key.id)
    new_key, _ = await store.create_api_key("team-a", ["jobs"])
    new_job = await store.create_job(JobOptions(), created_by="key:team-a")
    ghost_job = await store.create_job(JobOptions(), created_by="key:deleted-long-ago")
    anonymous_job = await store.create_job(JobOptions(), created_by="anonymous")
    for job in (old_job, new_job, ghost_job, anonymous_job):
        await store.open_job(job.id, 0, JobOptions())
    await store.close()
    # back to schema version 3: no owner column, as a database written by the previous release
    await _execute(
        store_url, "ALTER TABLE jobs DROP COLUMN owner_key", "DELETE FROM schema_migrations WHERE version = 4"
    )

    store = await open_store(store_url)
    try:
        owners = {
            job.id: (await store.get_job(job.id)).owner_key for job in (old_job, new_job, ghost_job, anonymous_job)
        }
        assert owners == {old_job.id: old_key.id, new_job.id: new_key.id, ghost_job.id: None, anonymous_job.id: None}
        assert [job.id for job in (await store.list_jobs(owner_key=new_key.id))[0]] == [new_job.id]
    finally:
        await store.close()
