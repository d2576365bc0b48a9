"""A large suppression list on SQLite must not delay start-up: the service binds and answers at
once while its key filter is built in the background, and lookups meanwhile go to the store, so a
suppressed address is never answered as not suppressed, before, during or after the build."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bench.scale_seed import seed_suppressions, suppressed_address
from tests.support.processes import env_for, free_port, wait_for

ENTRIES = 400_000


def _call(url: str, token: str | None = None, body: object = None, method: str = "GET") -> dict:
    headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {})
    data = None if body is None else json.dumps(body).encode()
    with urllib.request.urlopen(
        urllib.request.Request(url, data=data, method=method, headers=headers), timeout=10
    ) as response:
        return json.loads(response.read())


def _suppressed(base: str, token: str, emails: list[str]) -> list[bool]:
    answer = _call(f"{base}/v1/suppressions/lookup", token, {"emails": emails}, "POST")
    return [row["suppressed"] for row in answer["results"]]


def test_serve_answers_before_the_key_filter_is_built_and_lookups_stay_correct(dns, tmp_path: Path):
    port = free_port()
    database = tmp_path / "v.sqlite3"
    env = env_for(dns, VALIDATOR_DATABASE_URL=f"sqlite:///{database}", VALIDATOR_LOG_LEVEL="info")
    token = subprocess.run(
        [sys.executable, "-m", "validator", "keys", "create", "--name", "t", "--scope", "admin"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout.strip()
    seed_suppressions(database, ENTRIES)
    sample = [suppressed_address(n) for n in range(0, ENTRIES, ENTRIES // 50)]
    process = subprocess.Popen(
        [sys.executable, "-m", "validator", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base}/healthz", time.monotonic() + 20)
        readiness = _call(f"{base}/readyz")
        assert readiness["status"] == "ready"
        assert readiness["key_filters_building"] >= 1  # answered before the filter exists
        assert all(_suppressed(base, token, sample))  # the store answers meanwhile
        written = "written.during@build.example"
        _call(f"{base}/v1/suppressions/{written}", token, {"reason": "manual"}, "PUT")
        assert _call(f"{base}/readyz")["key_filters_building"] >= 1  # the write landed during the build
        deadline = time.monotonic() + 60
        while _call(f"{base}/readyz")["key_filters_building"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _call(f"{base}/readyz")["key_filters_building"] == 0
        # the filter now answers first: it must hold the seeded keys and the one written during its build
        assert _suppressed(base, token, [*sample, written, "never.stored@domain1.example"]) == [True] * (
            len(sample) + 1
        ) + [False]
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=20)
    # built here, or by the first command that opened the store (keys create, on an empty list) and extended here
    assert "key filter built: suppressions" in stderr or "key filter extended: suppressions" in stderr
