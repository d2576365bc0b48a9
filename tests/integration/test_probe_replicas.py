"""Two real `validator serve` replicas probing one domain share their limits (Redis, or PostgreSQL).

The scripted server counts what reached it from both: its peak of simultaneous sessions must stay
within the per-host cap, and its RCPT TO within the per-domain rate, in total, not per replica.
Redis and PostgreSQL are the configured servers, or private ones started for the session (conftest);
each test uses domains of its own, so runs at the same time never share keys or rows.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.probing import point
from tests.support.processes import env_for, free_port, wait_for
from tests.support.smtpserver import ACCEPTED, Script

CAP, RATE = 2, 50
EACH = 30  # addresses per replica: together more than the rate, alone less


@pytest.fixture(params=["redis", "postgres"])
def shared(request) -> dict[str, str]:
    """How replicas share limits: Redis beside per-replica SQLite files, or one PostgreSQL store."""
    if request.param == "redis":
        return {"VALIDATOR_REDIS_URL": request.getfixturevalue("redis_url")}
    return {"VALIDATOR_DATABASE_URL": request.getfixturevalue("postgres_url")}


@pytest.fixture
def replicas(dns, smtp, tmp_path):
    """Start ``n`` replicas with the same settings (by default each its own SQLite file); their base URLs."""
    started: list[subprocess.Popen[bytes]] = []

    def start(n: int, **extra: str) -> list[str]:
        bases = []
        for i in range(n):
            port = free_port()
            env = env_for(
                dns,
                VALIDATOR_DATABASE_URL=f"sqlite:///{tmp_path}/r{i}.sqlite3",
                VALIDATOR_AUTH="false",
                VALIDATOR_JOB_WORKERS="0",
                VALIDATOR_SMTP_PROBE="true",
                VALIDATOR_SMTP_PORT=str(smtp.port),
                VALIDATOR_SMTP_ALLOW_NETWORKS="127.0.0.0/8",
                VALIDATOR_SMTP_HELO_NAME="probe.validator.example",
                VALIDATOR_SMTP_MAX_CONNECTIONS_PER_HOST=str(CAP),
                VALIDATOR_SMTP_DOMAIN_RATE=str(RATE),
                VALIDATOR_SMTP_SESSION_RECIPIENTS="10",
            )
            env.update(extra)
            started.append(
                subprocess.Popen(
                    [sys.executable, "-m", "validator", "serve", "--port", str(port)],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            bases.append(f"http://127.0.0.1:{port}")
        for base in bases:
            wait_for(f"{base}/healthz", time.monotonic() + 30)
        return bases

    yield start
    for process in started:
        process.terminate()
    for process in started:
        process.wait(10)


def batch(base: str, emails: list[str]) -> list[dict]:
    body = json.dumps({"emails": emails, "smtp": True, "timeout_ms": 8000}).encode()
    request = urllib.request.Request(f"{base}/v1/validate/batch", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["results"]


def test_two_replicas_stay_within_the_per_host_cap_and_the_domain_rate_in_total(replicas, shared, dns, smtp):
    domain = f"shared-{secrets.token_hex(4)}.com"
    boxes = {f"{who}{i}@{domain}": ACCEPTED for who in "ab" for i in range(0, EACH, 2)}
    server = smtp.start(Script(mailboxes=boxes, rcpt_delay=0.02))  # slow enough for the sessions to overlap
    point(dns, domain, server)
    bases = replicas(2, **shared)
    lists = [[f"{who}{i}@{domain}" for i in range(EACH)] for who in "ab"]
    with ThreadPoolExecutor(2) as pool:
        answers = [r for results in pool.map(batch, bases, lists) for r in results]
    throttled = [r for r in answers if r["reasons"] == ["probe_throttled"]]
    probed = [r for r in answers if r["checks"]["smtp"]["code"] in (250, 550)]
    print(
        f"two replicas: {server.connections} connections, peak {server.peak} at once (cap {CAP}); "
        f"{len(server.rcpts)} RCPT TO (rate {RATE}/min); {len(probed)} answered, {len(throttled)} throttled"
    )
    assert server.peak <= CAP  # in total: each replica alone may open CAP
    assert len(server.rcpts) <= RATE
    assert len(probed) + len(throttled) == 2 * EACH and throttled
    assert {r[0] for r in server.rcpts if not r.startswith("x")} == {"a", "b"}  # both replicas did probe
    for r in probed:  # and every answer is right
        assert r["status"] == ("deliverable" if r["email"] in boxes else "undeliverable"), r


def test_without_shared_limits_the_same_replicas_would_exceed_the_cap(replicas, dns, smtp):
    """The control for the test above: the cap it measures is really at stake."""
    domain = f"unshared-{secrets.token_hex(4)}.com"
    server = smtp.start(Script(rcpt_delay=0.05))  # each replica's batch takes a second: they overlap
    point(dns, domain, server)
    bases = replicas(2)
    lists = [[f"{who}{i}@{domain}" for i in range(40)] for who in "ab"]
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(batch, bases, lists))
    print(f"two replicas without shared limits: peak {server.peak} at once (cap {CAP} each)")
    assert server.peak > CAP


def test_a_refusal_seen_by_one_replica_stops_the_other(replicas, shared, dns, smtp):
    domain = f"refusing-{secrets.token_hex(4)}.com"
    server = smtp.start(Script(block_after=0))  # refuses the very first RCPT TO: "554 5.7.1 ... blocked using"
    point(dns, domain, server)
    first, second = replicas(2, **shared)
    [one] = batch(first, [f"jane@{domain}"])
    time.sleep(0.2)  # the refusal is written to Redis off the request path
    [two] = batch(second, [f"john@{domain}"])
    assert one["reasons"] == two["reasons"] == ["probe_blocked"]
    assert two["checks"]["smtp"]["cached"] is True
    assert server.rcpts == [f"jane@{domain}"] and server.connections == 1
