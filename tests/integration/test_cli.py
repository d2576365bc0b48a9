"""The CLI as a user runs it: real processes, real loopback DNS and HTTP."""

from __future__ import annotations

import json
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support.processes import VALIDATOR, env_for, free_port, wait_for


@pytest.fixture
def zone(dns):
    dns.zone.mx("example.com", 10, "mx.example.com")
    dns.zone.a("mx.example.com", "8.8.8.8")
    return dns.zone


def test_check_prints_a_table_and_exit_code_says_undeliverable(dns, zone):
    result = subprocess.run(
        [*VALIDATOR, "check", "jane@example.com", "bad@@x", "info@example.com"],
        env=env_for(dns),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1, result.stderr  # one address is undeliverable
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["ADDRESS", "STATUS", "ACTION", "REASONS", "SUGGESTION"]
    assert lines[1].split()[:3] == ["jane@example.com", "deliverable", "accept"]
    assert lines[2].split()[:4] == ["bad@@x", "undeliverable", "block", "invalid_syntax"]
    assert lines[3].split()[:4] == ["info@example.com", "risky", "confirm", "role_account"]


def test_check_json_is_the_api_shape(dns, zone):
    result = subprocess.run(
        [*VALIDATOR, "check", "--json", "jane@example.com"],
        env=env_for(dns),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    verdict = json.loads(result.stdout)
    assert verdict["status"] == "deliverable"
    assert verdict["checks"]["dns"]["mx"][0]["host"] == "mx.example.com"


def test_bad_setting_stops_before_binding_and_names_the_variable(dns):
    result = subprocess.run(
        [*VALIDATOR, "serve"],
        env=env_for(dns, VALIDATOR_DNS_TIMEOUT="soon"),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "VALIDATOR_DNS_TIMEOUT" in result.stderr


def test_serve_answers_masks_addresses_in_the_log_and_stops_gracefully(dns, zone, tmp_path: Path):
    port = free_port()
    env = env_for(dns, VALIDATOR_DATABASE_URL=f"sqlite:///{tmp_path}/v.sqlite3")
    created = subprocess.run(
        [*VALIDATOR, "keys", "create", "--name", "form", "--scope", "validate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    log = (tmp_path / "serve.log").open("w+")
    process = subprocess.Popen(
        [*VALIDATOR, "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/healthz", time.monotonic() + 20)
        request = urllib.request.Request(
            f"{base}/v1/validate",
            data=b'{"email": "jane.doe@example.com"}',
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert json.load(response)["status"] == "deliverable"
        for path in (
            "/v1/whatever/jane.doe@example.com",  # an address in a path must be masked in the access log
            "/v1/whatever/first%2Elast%40example.com",  # ...after percent-decoding, as the router reads it
            "/v1/whatever?callback_url=https%3A%2F%2Fhook.example%2F%3Ftoken%3Ds3cret",
        ):  # query values: secrets
            try:
                urllib.request.urlopen(f"{base}{path}", timeout=5)
            except urllib.error.HTTPError as exc:
                assert exc.code == 404
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
    log.seek(0)
    text = log.read()
    assert "POST /v1/validate" in text
    assert "/v1/whatever/j***@example.com" in text
    assert "/v1/whatever/f***@example.com" in text
    assert "/v1/whatever?callback_url=*" in text
    assert "jane.doe" not in text and "last" not in text and "s3cret" not in text and "hook.example" not in text
    assert token not in text


def run_cli(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*VALIDATOR, *args], env=env, input=stdin, capture_output=True, text=True, timeout=30)


def test_keys_create_list_revoke(dns, tmp_path):
    env = env_for(dns, VALIDATOR_DATABASE_URL=f"sqlite:///{tmp_path}/v.sqlite3")
    token = run_cli(env, "keys", "create", "--name", "etl", "--scope", "suppressions:read", "--scope", "jobs").stdout
    assert token.startswith("vk_")
    listing = run_cli(env, "keys", "list").stdout
    assert "etl" in listing and "jobs,suppressions:read" in listing
    assert token.strip() not in listing  # the token is shown once, never again
    assert run_cli(env, "keys", "revoke", "etl").returncode == 0
    assert run_cli(env, "keys", "revoke", "etl").returncode == 4  # nothing active by that name any more
    assert run_cli(env, "keys", "create", "--name", "x", "--scope", "root").returncode == 2  # unknown scope


def test_keys_create_publishable_with_origins(dns, tmp_path):
    env = env_for(dns, VALIDATOR_DATABASE_URL=f"sqlite:///{tmp_path}/v.sqlite3")
    made = run_cli(env, "keys", "create", "--name", "signup", "--publishable", "--origin", "https://Shop.Example:443")
    assert made.returncode == 0 and made.stdout.startswith("pk_")
    assert "origin:https://shop.example,publishable" in run_cli(env, "keys", "list").stdout
    # no origin; a scope beside publishable; an origin with a path: each refused with exit 2
    assert run_cli(env, "keys", "create", "--name", "a", "--publishable").returncode == 2
    assert (
        run_cli(
            env,
            "keys",
            "create",
            "--name",
            "b",
            "--publishable",
            "--scope",
            "validate",
            "--origin",
            "https://shop.example",
        ).returncode
        == 2
    )
    assert (
        run_cli(env, "keys", "create", "--name", "c", "--publishable", "--origin", "https://x.example/a").returncode
        == 2
    )
    assert run_cli(env, "keys", "create", "--name", "d").returncode == 2  # no scope at all


def test_suppress_add_show_import_export_remove(dns, tmp_path):
    env = env_for(dns, VALIDATOR_DATABASE_URL=f"sqlite:///{tmp_path}/v.sqlite3")
    assert (
        run_cli(env, "suppress", "add", "Jane@Example.com", "--reason", "hard_bounce", "--why", "550 5.1.1").returncode
        == 0
    )
    shown = json.loads(run_cli(env, "suppress", "show", "jane@example.com").stdout)
    assert (shown["value"], shown["reason"], shown["audit"][0]["actor"].startswith("cli:")) == (
        "jane@example.com",
        "hard_bounce",
        True,
    )
    assert run_cli(env, "suppress", "add", "not an address").returncode == 2
    imported = run_cli(env, "suppress", "import", "-", "--reason", "complaint", stdin="email\na@x.com\nbad\nb@x.com\n")
    assert imported.returncode == 2  # one invalid row
    assert "line 3:" in imported.stderr and "added 2" in imported.stderr
    assert run_cli(env, "suppress", "add", "dead.example", "--domain").returncode == 0
    exported = run_cli(env, "suppress", "export").stdout.splitlines()
    assert sorted(line.split(",")[1] for line in exported[1:]) == [
        "a@x.com",
        "b@x.com",
        "dead.example",
        "jane@example.com",
    ]
    check = run_cli(env, "check", "--json", "someone@dead.example")
    assert json.loads(check.stdout)["reasons"] == ["suppressed"]
    assert run_cli(env, "suppress", "remove", "jane@example.com").returncode == 0
    assert run_cli(env, "suppress", "show", "jane@example.com").returncode == 4
