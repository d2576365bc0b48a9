"""Bulk jobs through the real HTTP API, real loopback DNS, and real SQLite / PostgreSQL stores."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import multiprocessing
import os
import signal

import orjson
import pytest
from aiohttp import web

from tests.support.settings import make_settings
from validator.api import create_app
from validator.config import Settings


def _settings(dns, database_url: str, **extra) -> Settings:
    return make_settings(dns, database_url=database_url, **({"job_chunk_rows": 4, "job_poll_seconds": 0.05} | extra))


@pytest.fixture
def zone(dns):
    dns.zone.mx("example.com", 10, "mx.example.com")
    dns.zone.a("mx.example.com", "8.8.8.8")
    dns.zone.mx("example.org", 10, "mx.example.org")
    dns.zone.a("mx.example.org", "8.8.4.4")
    return dns


@pytest.fixture
async def client(aiohttp_client, zone, tmp_path):
    return await aiohttp_client(create_app(_settings(zone, f"sqlite:///{tmp_path}/v.sqlite3")))


async def _finished(client, location: str) -> dict:
    for _ in range(200):
        job = await (await client.get(location)).json()
        if job["status"] in ("completed", "failed", "cancelled"):
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"job never finished: {job}")


async def _results(client, location: str, **params) -> list[dict]:
    response = await client.get(f"{location}/results", params=params)
    assert response.status == 200, await response.text()
    return [orjson.loads(line) for line in (await response.read()).splitlines()]


@pytest.fixture
async def any_client(aiohttp_client, zone, store_url):
    return await aiohttp_client(create_app(_settings(zone, store_url)))


async def test_json_job_runs_to_completion_with_rows_in_input_order(any_client):
    emails = [f"user{i}@example.{'com' if i % 2 else 'org'}" for i in range(9)] + ["not-an-address", "x@nxdomain.com"]
    response = await any_client.post("/v1/jobs", json={"emails": emails})
    assert response.status == 202
    location = response.headers["Location"]
    assert (await response.json())["total"] == 11
    job = await _finished(any_client, location)
    assert (job["status"], job["processed"]) == ("completed", 11)
    assert job["counts"]["statuses"] == {"deliverable": 9, "undeliverable": 2}
    assert job["counts"]["reasons"] == {"invalid_syntax": 1, "no_such_domain": 1}
    assert job["started_at"] and job["finished_at"] and job["rate_per_second"] > 0
    rows = await _results(any_client, location)
    assert [r["row"] for r in rows] == list(range(1, 12))  # 3 chunks of 4, answered in input order
    assert [r["email"] for r in rows] == emails
    assert rows[9]["reasons"] == ["invalid_syntax"]
    assert rows[0]["checks"]["dns"]["outcome"] == "mx"  # the full verdict, as /v1/validate gives it


async def test_runner_in_a_child_process_is_woken_by_a_submission(aiohttp_client, zone, tmp_path):
    """The default mode: the child would look for work only every 30 s here; the submission wakes it."""
    settings = _settings(zone, f"sqlite:///{tmp_path}/v.sqlite3", job_process=True, job_poll_seconds=30.0)
    client = await aiohttp_client(create_app(settings))
    await asyncio.sleep(2.0)  # the child has started and is waiting out its first poll
    response = await client.post("/v1/jobs", json={"emails": [f"user{i}@example.com" for i in range(6)]})
    began = asyncio.get_running_loop().time()
    job = await _finished(client, response.headers["Location"])
    assert (job["status"], job["counts"]["statuses"]) == ("completed", {"deliverable": 6})
    assert asyncio.get_running_loop().time() - began < 5.0


async def test_runner_child_that_dies_is_replaced(aiohttp_client, zone, tmp_path):
    """An OOM kill of the child must not stop this replica's jobs for good."""
    client = await aiohttp_client(create_app(_settings(zone, f"sqlite:///{tmp_path}/v.sqlite3", job_process=True)))
    [first] = [p for p in multiprocessing.active_children() if p.name == "validator-jobs"]
    os.kill(first.pid, signal.SIGKILL)
    for _ in range(100):  # it lived under RESTART_SECONDS: its successor starts that much later
        await asyncio.sleep(0.1)
        children = [p for p in multiprocessing.active_children() if p.name == "validator-jobs"]
        if children and children[0].pid != first.pid:
            break
    else:
        raise AssertionError("no new job runner process")
    response = await client.post("/v1/jobs", json={"emails": ["a@example.com", "b@example.org"]})
    job = await _finished(client, response.headers["Location"])
    assert (job["status"], job["counts"]["statuses"]) == ("completed", {"deliverable": 2})


async def test_csv_header_column_by_name_and_display_names(client):
    body = b'name,Email\r\n"Doe, Jane",Jane Doe <jane@example.com>\r\nBob,bob@example.org\r\n'
    response = await client.post("/v1/jobs?column=email", data=body, headers={"Content-Type": "text/csv"})
    assert response.status == 202, await response.text()
    location = response.headers["Location"]
    await _finished(client, location)
    rows = await _results(client, location)
    assert [(r["row"], r["email"], r.get("input")) for r in rows] == [
        (2, "jane@example.com", "Jane Doe <jane@example.com>"),
        (3, "bob@example.org", None),
    ]
    csv = await client.get(f"{location}/results", headers={"Accept": "text/csv"})
    assert csv.headers["Content-Type"].startswith("text/csv")
    lines = (await csv.text()).splitlines()
    assert lines[0].startswith("row,input,email,normalized,status")
    assert lines[1].startswith("2,Jane Doe <jane@example.com>,jane@example.com,jane@example.com,deliverable")


async def test_a_semicolon_or_tab_separated_csv_is_read_as_such(client):
    # Excel saves "CSV" with ";" where the list separator is ";" (de, fr, es, it): every row was one cell,
    # "jane@example.com;Jane", answered invalid_syntax, row after row
    bodies = {
        ";": b'\xef\xbb\xbfName;E-Mail\r\n"Doe; Jane";Jane Doe <jane@example.com>\r\nBob;bob@example.org\r\n',
        "tab": b"bob@example.org\tBob\r\njane@example.com\tJane\r\n",
    }
    for name, body in bodies.items():
        response = await client.post("/v1/jobs", data=body, headers={"Content-Type": "text/csv"})
        assert response.status == 202, await response.text()
        location = response.headers["Location"]
        job = await _finished(client, location)
        assert job["counts"]["statuses"] == {"deliverable": 2}, (name, job)
        rows = await _results(client, location)
        assert {r["email"] for r in rows} == {"jane@example.com", "bob@example.org"}, name


async def test_refused_uploads_leave_no_job(client):
    cases = [
        ("text/csv", "?column=mail", b"email\r\na@example.com\r\n", 400, "missing_field", "column"),
        ("application/pdf", "", b"%PDF-1.7", 415, "unsupported_media_type", None),
        # `curl -d`'s default type is read as JSON (README's example), so form data is not JSON
        ("application/x-www-form-urlencoded", "", b"emails=a%40example.com", 400, "invalid_json", None),
        ("application/json", "", b'{"emails": ["a@example.com"', 400, "invalid_json", None),
        ("application/json", "", b'{"emails": [], "priority": 1}', 400, "unknown_field", "priority"),
        ("text/csv", "?column_index=3", b"email,name\r\na@example.com,A\r\n", 400, "missing_field", "column_index"),
    ]
    for content_type, query, body, status, code, field in cases:
        response = await client.post(f"/v1/jobs{query}", data=body, headers={"Content-Type": content_type})
        error = (await response.json())["error"]
        assert (response.status, error["code"], error["field"]) == (status, code, field), body
    listed = await (await client.get("/v1/jobs")).json()
    assert listed["items"] == []


@pytest.fixture
async def small_client(aiohttp_client, zone, tmp_path):
    # no runner in this process: jobs stay queued; a limit of 6 rows
    settings = _settings(zone, f"sqlite:///{tmp_path}/v.sqlite3", job_workers=0, job_max_rows=6)
    return await aiohttp_client(create_app(settings))


async def test_too_many_rows_is_refused_and_cancel_then_delete(small_client):
    response = await small_client.post("/v1/jobs", json={"emails": ["a@example.com"] * 7})
    assert (response.status, (await response.json())["error"]["code"]) == (400, "too_many_items")
    response = await small_client.post("/v1/jobs", json={"emails": ["a@example.com"] * 6})
    location = response.headers["Location"]
    early = await small_client.get(f"{location}/results")
    assert (early.status, (await early.json())["error"]["code"]) == (409, "job_not_finished")
    cancelled = await small_client.delete(location)
    assert (cancelled.status, (await cancelled.json())["status"]) == (200, "cancelled")
    assert (await small_client.delete(location)).status == 204  # finished: now deleted with its data
    assert (await small_client.get(location)).status == 404
    assert (await small_client.get("/v1/jobs/not-a-job-id")).status == 404


async def test_ndjson_bad_lines_are_answered_invalid_syntax_with_their_row(client):
    body = b'"a@example.com"\n{"email": "b@example.org"}\n\xff\xfe@example.com\n42\n\n"c@example.com"\n'
    response = await client.post("/v1/jobs", data=body, headers={"Content-Type": "application/x-ndjson"})
    location = response.headers["Location"]
    job = await _finished(client, location)
    assert job["total"] == 5  # the blank line is not a row
    rows = await _results(client, location)
    assert [(r["row"], r["status"]) for r in rows] == [
        (1, "deliverable"),
        (2, "deliverable"),
        (3, "undeliverable"),
        (4, "undeliverable"),
        (6, "deliverable"),
    ]
    assert rows[2]["reasons"] == ["invalid_syntax"]
    assert "not a JSON value" in rows[2]["checks"]["syntax"]["message"]


async def test_an_ndjson_upload_opening_with_a_byte_order_mark_answers_its_first_row(client):
    # Windows PowerShell 5 writes UTF-8 with a BOM: the first address was answered undeliverable / invalid_syntax
    body = b'\xef\xbb\xbf"a@example.com"\n"b@example.org"\n'
    response = await client.post("/v1/jobs", data=body, headers={"Content-Type": "application/x-ndjson"})
    location = response.headers["Location"]
    await _finished(client, location)
    rows = await _results(client, location)
    assert [(r["row"], r["email"], r["status"]) for r in rows] == [
        (1, "a@example.com", "deliverable"),
        (2, "b@example.org", "deliverable"),
    ]


async def test_invalid_utf8_csv_row_is_answered_and_the_rest_goes_on(client):
    body = b"a@example.com\nb\xff@example.com\nc@example.com\n"
    response = await client.post("/v1/jobs", data=body, headers={"Content-Type": "text/csv"})
    location = response.headers["Location"]
    await _finished(client, location)
    text = await (await client.get(f"{location}/results?format=csv")).text()
    lines = text.splitlines()[1:]
    assert [line.split(",")[4] for line in lines] == ["deliverable", "undeliverable", "deliverable"]
    assert lines[1].startswith("2,") and "invalid_syntax" in lines[1]


async def test_dedupe_answers_repeats_by_reference(client):
    response = await client.post(
        "/v1/jobs?dedupe=true", json={"emails": ["a@example.com", " A@Example.com", "b@example.com"]}
    )
    location = response.headers["Location"]
    job = await _finished(client, location)
    assert job["counts"]["statuses"] == {"deliverable": 2, "duplicate": 1}
    rows = await _results(client, location)
    assert rows[1] == {"row": 2, "email": " A@Example.com", "duplicate_of": 1}


async def test_jobs_list_pages_with_a_cursor(client):
    for _ in range(3):
        assert (await client.post("/v1/jobs", json={"emails": ["a@example.com"]})).status == 202
    first = await (await client.get("/v1/jobs?limit=2")).json()
    second = await (await client.get("/v1/jobs", params={"limit": 2, "cursor": first["next_cursor"]})).json()
    assert len(first["items"]) == 2 and len(second["items"]) == 1 and second["next_cursor"] is None
    assert len({j["id"] for j in first["items"] + second["items"]}) == 3


async def test_loopback_callback_is_refused_unless_allowlisted(client):
    response = await client.post("/v1/jobs", json={"emails": ["a@example.com"], "callback_url": "http://127.0.0.1:9/x"})
    error = (await response.json())["error"]
    assert (response.status, error["field"]) == (400, "callback_url")
    response = await client.post("/v1/jobs?callback_url=http://localhost/x", json={"emails": []})
    assert response.status == 400


async def test_completed_job_posts_a_signed_summary_to_its_callback(aiohttp_client, aiohttp_server, zone, tmp_path):
    received: asyncio.Queue = asyncio.Queue()

    async def hook(request: web.Request) -> web.Response:
        await received.put((request.headers.get("X-Validator-Signature"), await request.read()))
        return web.Response(status=204)

    receiver = web.Application()
    receiver.router.add_post("/hook", hook)
    server = await aiohttp_server(receiver)
    settings = _settings(
        zone, f"sqlite:///{tmp_path}/v.sqlite3", job_callback_secret="s3cret", job_callback_allow=("127.0.0.1",)
    )
    client = await aiohttp_client(create_app(settings))
    url = f"http://127.0.0.1:{server.port}/hook"
    response = await client.post(f"/v1/jobs?callback_url={url}", json={"emails": ["a@example.com"]})
    assert response.status == 202
    signature, body = await asyncio.wait_for(received.get(), 10)
    stamp, mac = (part.split("=", 1)[1] for part in signature.split(","))
    assert mac == hmac.new(b"s3cret", f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    summary = orjson.loads(body)
    assert (summary["event"], summary["job"]["status"], summary["job"]["processed"]) == (
        "job.completed",
        "completed",
        1,
    )
    for _ in range(100):
        job = await (await client.get(response.headers["Location"])).json()
        if job["callback"]:
            break
        await asyncio.sleep(0.05)
    assert job["callback"] == "sent 204"


async def test_jobs_need_the_jobs_scope(aiohttp_client, zone, tmp_path):
    from validator.store import open_store

    url = f"sqlite:///{tmp_path}/v.sqlite3"
    store = await open_store(url)
    form = (await store.create_api_key("form", ["validate"]))[1]
    lists = (await store.create_api_key("lists", ["jobs"]))[1]
    await store.close()
    client = await aiohttp_client(create_app(dataclasses.replace(_settings(zone, url), auth=True)))
    refused = await client.post("/v1/jobs", json={"emails": []}, headers={"Authorization": f"Bearer {form}"})
    assert (refused.status, (await refused.json())["error"]["code"]) == (403, "forbidden")
    accepted = await client.post(
        "/v1/jobs", json={"emails": ["a@example.com"]}, headers={"Authorization": f"Bearer {lists}"}
    )
    assert accepted.status == 202
    listed = await client.get("/v1/jobs", headers={"Authorization": f"Bearer {lists}"})
    assert listed.status == 200 and len((await listed.json())["items"]) == 1
    assert (await client.get("/v1/jobs")).status == 401


async def test_a_key_sees_only_its_own_jobs_and_an_admin_key_sees_all(aiohttp_client, zone, store_url):
    from validator.store import open_store

    store = await open_store(store_url)
    tokens = {
        name: (await store.create_api_key(name, scopes))[1]
        for name, scopes in (("team-a", ["jobs"]), ("team-b", ["jobs"]), ("ops", ["admin"]))
    }
    await store.close()
    client = await aiohttp_client(create_app(dataclasses.replace(_settings(zone, store_url), auth=True)))

    def as_(name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[name]}"}

    location = (await client.post("/v1/jobs", json={"emails": ["a@example.com"]}, headers=as_("team-a"))).headers[
        "Location"
    ]
    await client.post("/v1/jobs", json={"emails": ["b@example.com"]}, headers=as_("team-b"))
    assert (await client.get(location, headers=as_("team-a"))).status == 200
    for method in ("GET", "DELETE"):  # another tenant's job is absent, not forbidden: its id tells nothing
        response = await client.request(method, location, headers=as_("team-b"))
        assert (response.status, (await response.json())["error"]["code"]) == (404, "not_found")
    assert (await client.get(f"{location}/results", headers=as_("team-b"))).status == 404
    mine = (await (await client.get("/v1/jobs", headers=as_("team-b"))).json())["items"]
    assert [job["created_by"] for job in mine] == ["key:team-b"]
    everyone = (await (await client.get("/v1/jobs", headers=as_("ops"))).json())["items"]
    assert sorted(job["created_by"] for job in everyone) == ["key:team-a", "key:team-b"]


async def test_a_callback_left_unsent_by_a_dead_process_is_sent_by_the_next_runner(
    aiohttp_client, aiohttp_server, zone, tmp_path
):
    from datetime import UTC, datetime, timedelta

    from validator.jobs.model import ChunkAnswer, Counts, InputRow, JobOptions
    from validator.store import open_store

    received: asyncio.Queue = asyncio.Queue()

    async def hook(request: web.Request) -> web.Response:
        await received.put(orjson.loads(await request.read()))
        return web.Response(status=204)

    receiver = web.Application()
    receiver.router.add_post("/hook", hook)
    server = await aiohttp_server(receiver)
    url, database = f"http://127.0.0.1:{server.port}/hook", f"sqlite:///{tmp_path}/v.sqlite3"
    # A process completed this job two minutes ago and died before posting its callback
    store = await open_store(database, clock=lambda: datetime.now(UTC) - timedelta(minutes=2))
    options = JobOptions(callback_url=url)
    job = await store.create_job(options, created_by="anonymous")
    await store.add_chunk(job.id, 0, [InputRow(1, "a@example.com")])
    await store.open_job(job.id, 1, options)
    claim = await store.claim_chunk("dead", 60)
    await store.complete_chunk(claim, ChunkAnswer((b"{}\n",), Counts({"deliverable": 1}, {})))
    await store.close()

    settings = _settings(zone, database, job_callback_allow=("127.0.0.1",))
    client = await aiohttp_client(create_app(settings))
    summary = await asyncio.wait_for(received.get(), 10)
    assert (summary["event"], summary["job"]["id"]) == ("job.completed", job.id)
    for _ in range(100):
        if (await (await client.get(f"/v1/jobs/{job.id}")).json())["callback"] == "sent 204":
            break
        await asyncio.sleep(0.05)
    assert (await (await client.get(f"/v1/jobs/{job.id}")).json())["callback"] == "sent 204"
    assert received.empty()  # once


async def test_processed_moves_per_slice_within_a_chunk(aiohttp_client, zone, tmp_path):
    # A slice per domain, each waiting 0.2 s for its MX answer (dns_timeout 0.3). The domains are
    # internationalised: a chunk's plain host names are resolved ahead of its slices, IDNs by their slice.
    for n in range(3):
        zone.zone.mx(f"d{n}.xn--exmple-cua.com", 10, "mx.example.com")
        zone.zone.delay(f"d{n}.xn--exmple-cua.com", 0.2, "MX")
    settings = _settings(
        zone, f"sqlite:///{tmp_path}/v.sqlite3", job_chunk_rows=300, job_slice=100, job_slice_ms=1000.0
    )
    client = await aiohttp_client(create_app(settings))
    emails = [f"u{i}@d{i // 100}.exämple.com" for i in range(300)]  # one chunk of 300 rows
    location = (await client.post("/v1/jobs", json={"emails": emails})).headers["Location"]
    seen = set()
    for _ in range(200):
        job = await (await client.get(location)).json()
        if job["status"] == "completed":
            break
        seen.add(job["processed"])
        await asyncio.sleep(0.05)
    assert job["processed"] == 300
    assert any(0 < processed < 300 for processed in seen), f"processed moved only per chunk: {sorted(seen)}"
