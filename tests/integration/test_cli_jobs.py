"""``validator batch`` and ``validator jobs ...`` as a user runs them: real processes, DNS and HTTP."""

from __future__ import annotations

import csv
import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.processes import VALIDATOR, env_for, free_port, wait_for


@pytest.fixture
def zone(dns):
    dns.zone.mx("example.com", 10, "mx.example.com")
    dns.zone.a("mx.example.com", "8.8.8.8")
    return dns


def test_batch_checks_a_csv_here_with_progress_and_a_summary(zone, tmp_path: Path):
    source = tmp_path / "list.csv"
    source.write_text("name,email\nJane,Jane <jane@example.com>\nBad,not-an-address\nBob,bob@nxdomain.com\n")
    out = tmp_path / "out.csv"
    env = env_for(zone, VALIDATOR_DATABASE_URL=f"sqlite:///{tmp_path}/v.sqlite3", VALIDATOR_JOB_CHUNK_ROWS="2")
    result = subprocess.run(
        [*VALIDATOR, "batch", str(source), "-o", str(out), "--column", "email"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(out.open()))
    assert [(r["row"], r["email"], r["status"]) for r in rows] == [
        ("2", "jane@example.com", "deliverable"),
        ("3", "not-an-address", "undeliverable"),
        ("4", "bob@nxdomain.com", "undeliverable"),
    ]
    progress = [line for line in result.stderr.splitlines() if line.startswith("[")]
    assert progress[0] == "[....................]   0%  0/3 rows"  # at once; the header is no row; no rate yet
    assert "3/3 rows" in progress[-1] and "rows/s" in progress[-1]  # the closing progress line
    summary = {line.split()[0]: line.split()[1] for line in result.stderr.splitlines() if line and line[0].islower()}
    assert (summary["deliverable"], summary["undeliverable"], summary["invalid_syntax"]) == ("1", "2", "1")


def test_batch_answers_every_row_around_a_stray_quote_and_refuses_one_that_never_closes(zone, tmp_path: Path):
    # 2,000 rows after a stray quote used to print "100% 3/3 rows" and exit 0
    rows = "".join(f"user{i}@example.com\n" for i in range(2000))
    env = env_for(zone, VALIDATOR_DATABASE_URL=f"sqlite:///{tmp_path}/v.sqlite3")
    for name, text, code in (
        ("inside", 'email\na"b@example.com\n' + rows, 0),
        ("opening", 'email\n"a@example.com\n' + rows, 2),
    ):
        source, out = tmp_path / f"{name}.csv", tmp_path / f"{name}.out.ndjson"
        source.write_text(text)
        result = subprocess.run(
            [*VALIDATOR, "batch", str(source), "-o", str(out)], env=env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == code, result.stderr
        if code == 0:
            assert "2,001/2,001 rows" in result.stderr
            assert len(out.read_text().splitlines()) == 2001
        else:
            assert result.stderr.startswith("validator: a quoted field opens on line 2 and never closes")


def test_jobs_commands_drive_a_remote_service(zone, tmp_path: Path):
    env = env_for(zone, VALIDATOR_DATABASE_URL=f"sqlite:///{tmp_path}/v.sqlite3", VALIDATOR_JOB_POLL_SECONDS="0.1")
    token = subprocess.run(
        [*VALIDATOR, "keys", "create", "--name", "lists", "--scope", "jobs"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout.strip()
    port = free_port()
    server = subprocess.Popen(
        [*VALIDATOR, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(f"{url}/healthz", time.monotonic() + 20)
        remote = ["--url", url, "--key", token]
        source = tmp_path / "list.ndjson"
        source.write_text('"a@example.com"\n"b@example.com"\n')
        submitted = subprocess.run(
            [*VALIDATOR, "jobs", "submit", str(source), "--wait", *remote],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert submitted.returncode == 0, submitted.stderr
        job = json.loads(submitted.stdout)
        assert (job["status"], job["processed"]) == ("completed", 2)
        status = subprocess.run(
            [*VALIDATOR, "jobs", "status", job["id"], *remote], env=env, capture_output=True, text=True, timeout=30
        )
        assert json.loads(status.stdout)["id"] == job["id"]
        results = subprocess.run(
            [*VALIDATOR, "jobs", "results", job["id"], *remote], env=env, capture_output=True, text=True, timeout=30
        )
        assert [json.loads(line)["email"] for line in results.stdout.splitlines()] == ["a@example.com", "b@example.com"]
        deleted = subprocess.run(
            [*VALIDATOR, "jobs", "cancel", job["id"], *remote], env=env, capture_output=True, text=True, timeout=30
        )
        assert deleted.returncode == 0 and "deleted" in deleted.stderr
        missing = subprocess.run(
            [*VALIDATOR, "jobs", "status", job["id"], *remote], env=env, capture_output=True, text=True, timeout=30
        )
        assert missing.returncode == 4 and "answered 404: no job" in missing.stderr
        forbidden = subprocess.run(
            [*VALIDATOR, "jobs", "status", job["id"], "--url", url, "--key", "vk_x_y"],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert forbidden.returncode == 9 and "answered 401" in forbidden.stderr
    finally:
        server.kill()
        server.wait()
