"""Jobs survive kill -9 (SQLite, one process) and a dead replica (PostgreSQL, two processes):
every row is answered exactly once. Real `validator serve` processes, real stores."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.support.processes import env_for, free_port, wait_for

DOMAINS, PER_DOMAIN = 30, 20  # one domain per chunk of 20 rows; each domain's MX answer is slowed down
SLOW_DNS_SECONDS = 0.12
JOB_ENV = {
    "VALIDATOR_AUTH": "false",
    "VALIDATOR_JOB_CHUNK_ROWS": str(PER_DOMAIN),
    "VALIDATOR_JOB_LEASE_SECONDS": "2",
    "VALIDATOR_JOB_POLL_SECONDS": "0.1",
    "VALIDATOR_ACCESS_LOG": "false",
}


def _call(url: str, body: bytes | None = None, content_type: str = "application/json") -> tuple[int, dict, bytes]:
    request = urllib.request.Request(
        url, data=body, method="POST" if body is not None else "GET", headers={"Content-Type": content_type}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, dict(response.headers), response.read()


def _job(base: str, location: str) -> dict:
    return json.loads(_call(base + location)[2])


@pytest.fixture
def slow_zone(dns):
    for i in range(DOMAINS):
        dns.zone.mx(f"job{i}.com", 10, f"mx.job{i}.com")
        dns.zone.a(f"mx.job{i}.com", "8.8.8.8")
        dns.zone.delay(f"job{i}.com", SLOW_DNS_SECONDS, "MX")
    return dns


def _emails() -> bytes:
    """Grouped by domain, so each chunk holds one domain and waits for its slow MX answer."""
    rows = [f"user{n}@job{d}.com" for d in range(DOMAINS) for n in range(PER_DOMAIN)]
    return ("email\n" + "\n".join(rows) + "\n").encode()


class Services:
    def __init__(self, env: dict[str, str]) -> None:
        self.env, self.processes = env, []

    def start(self, port: int) -> str:
        process = subprocess.Popen(
            [sys.executable, "-m", "validator", "serve", "--port", str(port)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.processes.append(process)
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/healthz", time.monotonic() + 20)
        return base

    def kill(self, index: int) -> None:
        os.kill(self.processes[index].pid, signal.SIGKILL)  # no shutdown: leases stay held until they run out
        self.processes[index].wait()

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.fixture
def services():
    made: list[Services] = []

    def make(env: dict[str, str]) -> Services:
        made.append(Services(env))
        return made[-1]

    yield make
    for group in made:
        group.stop_all()


def _kill_mid_job(base: str, location: str, services: Services, index: int) -> int:
    deadline = time.monotonic() + 20
    while (job := _job(base, location))["processed"] < PER_DOMAIN * 3:
        assert time.monotonic() < deadline, job
        time.sleep(0.02)
    assert job["status"] == "running", job  # still mid-job
    services.kill(index)
    return job["processed"]


def _wait_completed(base: str, location: str) -> dict:
    deadline = time.monotonic() + 40
    while (job := _job(base, location))["status"] != "completed":
        assert job["status"] in ("queued", "running") and time.monotonic() < deadline, job
        time.sleep(0.1)
    return job


def _assert_every_row_once(base: str, location: str, job: dict) -> None:
    total = DOMAINS * PER_DOMAIN
    assert (job["total"], job["processed"]) == (total, total)
    assert job["counts"]["statuses"] == {"deliverable": total}
    lines = _call(f"{base}{location}/results")[2].splitlines()
    rows = [json.loads(line)["row"] for line in lines]
    assert rows == list(range(2, total + 2))  # each row exactly once, in input order (line 1 is the header)


def test_job_resumes_after_kill_9_and_answers_every_row_once(slow_zone, services, tmp_path):
    group = services(env_for(slow_zone, VALIDATOR_DATABASE_URL=f"sqlite:///{tmp_path}/v.sqlite3", **JOB_ENV))
    port = free_port()
    base = group.start(port)
    status, headers, _ = _call(f"{base}/v1/jobs", _emails(), "text/csv")
    assert status == 202
    location = headers["Location"]
    _kill_mid_job(base, location, group, 0)
    base = group.start(port)
    _assert_every_row_once(base, location, _wait_completed(base, location))


def _children(pid: int) -> list[int]:
    """Child processes of ``pid`` started by multiprocessing's spawn (not its resource tracker)."""
    children = [int(child) for child in open(f"/proc/{pid}/task/{pid}/children").read().split()]
    return [c for c in children if b"spawn_main" in open(f"/proc/{c}/cmdline", "rb").read()]


def test_runner_in_a_child_process_dies_with_the_service_and_the_job_resumes(slow_zone, services, tmp_path):
    env = env_for(
        slow_zone, VALIDATOR_DATABASE_URL=f"sqlite:///{tmp_path}/v.sqlite3", VALIDATOR_JOB_PROCESS="true", **JOB_ENV
    )
    group = services(env)
    port = free_port()
    base = group.start(port)
    runner = _children(group.processes[0].pid)
    assert len(runner) == 1  # the niced runner process
    deadline = time.monotonic() + 20
    while os.getpriority(os.PRIO_PROCESS, runner[0]) <= os.getpriority(os.PRIO_PROCESS, group.processes[0].pid):
        assert time.monotonic() < deadline, "the runner process never lowered its priority"
        time.sleep(0.05)
    location = _call(f"{base}/v1/jobs", _emails(), "text/csv")[1]["Location"]
    _kill_mid_job(base, location, group, 0)
    deadline = time.monotonic() + 10
    while os.path.exists(f"/proc/{runner[0]}") and open(f"/proc/{runner[0]}/stat").read().split()[2] != "Z":
        assert time.monotonic() < deadline, "the runner outlived the service (an orphan still working)"
        time.sleep(0.05)
    base = group.start(port)
    _assert_every_row_once(base, location, _wait_completed(base, location))


def test_graceful_stop_releases_its_chunks_for_an_immediate_resume(slow_zone, services, tmp_path):
    env = env_for(
        slow_zone,
        VALIDATOR_DATABASE_URL=f"sqlite:///{tmp_path}/v.sqlite3",
        **{**JOB_ENV, "VALIDATOR_JOB_LEASE_SECONDS": "120"},
    )  # longer than the test may wait
    group = services(env)
    port = free_port()
    base = group.start(port)
    location = _call(f"{base}/v1/jobs", _emails(), "text/csv")[1]["Location"]
    deadline = time.monotonic() + 20
    while _job(base, location)["processed"] < PER_DOMAIN * 2:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    group.processes[0].send_signal(signal.SIGTERM)  # a deploy: the runner stops and gives back its lease
    assert group.processes[0].wait(20) == 0
    base = group.start(port)
    _assert_every_row_once(base, location, _wait_completed(base, location))


def test_two_replicas_share_a_job_and_survive_one_dying(slow_zone, services, postgres_url):
    group = services(env_for(slow_zone, VALIDATOR_DATABASE_URL=postgres_url, **JOB_ENV))
    first, second = group.start(free_port()), group.start(free_port())
    status, headers, _ = _call(f"{first}/v1/jobs", _emails(), "text/csv")
    assert status == 202
    location = headers["Location"]
    assert _job(second, location)["total"] == DOMAINS * PER_DOMAIN  # one store: either replica answers
    _wait_for_a_lease_of(group.processes[0].pid, postgres_url)
    group.kill(0)  # the first replica dies holding a lease: not a timing accident, it was seen holding one
    _assert_every_row_once(second, location, _wait_completed(second, location))
    assert _reclaimed_chunks(postgres_url) >= 1  # the dead replica's leased chunk was taken over, once


def _wait_for_a_lease_of(pid: int, url: str) -> None:
    """Until a chunk is leased by ``pid`` or its runner child (lease owners are ``host:pid:random``)."""
    import asyncio

    import asyncpg

    async def leased_pids() -> set[int]:
        conn = await asyncpg.connect(url)
        try:
            owners = await conn.fetch(
                "SELECT lease_owner FROM job_chunks WHERE results IS NULL AND lease_owner IS NOT NULL"
            )
        finally:
            await conn.close()
        return {int(row["lease_owner"].split(":")[1]) for row in owners}

    deadline = time.monotonic() + 20
    while not ({pid, *_children(pid)} & asyncio.run(leased_pids())):
        assert time.monotonic() < deadline, "the first replica never took a chunk"
        time.sleep(0.01)


def _reclaimed_chunks(url: str) -> int:
    import asyncio

    import asyncpg

    async def count() -> int:
        conn = await asyncpg.connect(url)
        try:
            return await conn.fetchval("SELECT count(*) FROM job_chunks WHERE attempts > 1")
        finally:
            await conn.close()

    return asyncio.run(count())
