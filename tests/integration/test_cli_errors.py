"""Every CLI failure a user meets says one line, ``validator: <what went wrong>``, with the exit
code of docs/cli.md, and no traceback unless ``--debug`` asks for one. Real processes, real files
and sockets on loopback."""

from __future__ import annotations

import re
import socket
import subprocess
from pathlib import Path

import pytest

from tests.support.processes import VALIDATOR, env_for, free_port
from validator.cli.exits import EXIT_CODE, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_JOB_FAILED, EXIT_UNDELIVERABLE

DOCS = Path(__file__).parents[2] / "docs" / "cli.md"


def fails(dns, *args: str, code: int, **env: str) -> str:
    """Run ``validator ARGS``; assert one error line and exit ``code``; return the line."""
    result = subprocess.run([*VALIDATOR, *args], env=env_for(dns, **env), capture_output=True, text=True, timeout=60)
    lines = [line for line in result.stderr.splitlines() if not line.startswith("store: ")]
    assert "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1 and lines[0].startswith("validator: "), result.stderr
    assert result.returncode == code, result.stderr
    return lines[0]


def test_a_port_in_use_is_named_with_its_fix(dns, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = fails(
            dns,
            "serve",
            "--port",
            str(port),
            code=8,
            VALIDATOR_DATABASE_URL=f"sqlite:///{tmp_path}/v.sqlite3",
            VALIDATOR_LOG_LEVEL="ERROR",
        )  # no start-up notes
    assert f"cannot listen on 127.0.0.1:{port}: address already in use" in line and "--port" in line


def test_batch_without_its_input_file(dns, tmp_path):
    line = fails(dns, "batch", str(tmp_path / "missing.csv"), "-o", str(tmp_path / "out.csv"), code=7)
    assert line == f"validator: cannot read {tmp_path / 'missing.csv'}: No such file or directory"


def test_batch_with_an_unwritable_output(dns, tmp_path):
    source = tmp_path / "list.csv"
    source.write_text("email\na@example.com\n")  # a good input: only the output is at fault
    line = fails(dns, "batch", str(source), "-o", str(tmp_path / "no-such-folder" / "out.csv"), code=7)
    assert line.startswith(f"validator: cannot write {tmp_path / 'no-such-folder' / 'out.csv'}:")


def test_jobs_submit_of_a_missing_file_blames_the_file_not_the_service(dns, tmp_path):
    line = fails(
        dns, "jobs", "submit", str(tmp_path / "missing.csv"), "--url", f"http://127.0.0.1:{free_port()}", code=7
    )
    assert "cannot read" in line and "cannot reach" not in line


def test_jobs_against_no_service(dns):
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    line = fails(dns, "jobs", "status", "0123", "--url", url, code=8)
    assert line.startswith(f"validator: cannot reach {url}: connection refused")


def test_a_bad_number_says_what_is_expected(dns):
    line = fails(dns, "check", "a@example.com", code=2, VALIDATOR_PORT="abc")
    assert line == "validator: VALIDATOR_PORT must be a whole number, got 'abc'"


def test_a_bad_flag_is_named_as_the_flag(dns, tmp_path):
    line = fails(dns, "serve", "--port", "abc", code=2)
    assert line == "validator: --port must be a whole number, got 'abc'"
    assert fails(dns, "serve", "--port", "70000", code=2) == "validator: --port must be at most 65535"


def test_every_bad_setting_is_reported_at_once_with_a_suggestion(dns):
    result = subprocess.run(
        [*VALIDATOR, "check", "a@example.com"],
        capture_output=True,
        text=True,
        timeout=30,
        env=env_for(dns, VALIDATOR_PORT="abc", VALIDATOR_DNS_TIMOUT="3"),
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert sorted(result.stderr.splitlines()) == [
        "validator: VALIDATOR_PORT must be a whole number, got 'abc'",
        "validator: unknown setting VALIDATOR_DNS_TIMOUT (did you mean VALIDATOR_DNS_TIMEOUT?)",
    ]  # sorted: the order of the lines is not promised


def test_ingest_of_a_missing_path(dns, tmp_path):
    line = fails(dns, "ingest", "/no/such/file", code=7, VALIDATOR_DATABASE_URL=f"sqlite:///{tmp_path}/v.sqlite3")
    assert line == "validator: cannot read /no/such/file: no such file or folder"


def test_suppress_import_of_a_missing_file(dns, tmp_path):
    line = fails(
        dns,
        "suppress",
        "import",
        str(tmp_path / "missing.csv"),
        code=7,
        VALIDATOR_DATABASE_URL=f"sqlite:///{tmp_path}/v.sqlite3",
    )
    assert "cannot read" in line


def test_a_usage_error_is_one_line_too(dns):
    line = fails(dns, "batch", code=2)
    assert line.startswith("validator: the following arguments are required: input")


def test_debug_adds_the_traceback(dns, tmp_path):
    result = subprocess.run(
        [*VALIDATOR, "batch", str(tmp_path / "missing.csv"), "-o", "-", "--debug"],
        env=env_for(dns),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 7
    assert "Traceback" in result.stderr and result.stderr.rstrip().endswith("No such file or directory")


@pytest.mark.parametrize(
    "code", sorted({*EXIT_CODE.values(), EXIT_UNDELIVERABLE, EXIT_INTERNAL, EXIT_JOB_FAILED, EXIT_INTERRUPTED})
)
def test_every_exit_code_is_documented(code):
    assert re.search(rf"^\| {code} \|", DOCS.read_text(), re.MULTILINE), f"exit code {code} is not in docs/cli.md"
