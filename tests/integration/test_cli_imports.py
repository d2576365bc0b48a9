"""The CLI loads the HTTP edge only to serve: ``validator check`` and the parser behind every
command start without aiohttp's server or ``validator.api`` (a second or so less to start,
and no path from a one-off check into the application). Real processes, ``-X importtime``."""

from __future__ import annotations

import subprocess
import sys

from tests.support.processes import VALIDATOR, env_for

SERVER_MODULES = ("aiohttp.web", "validator.api")


def imported(result: subprocess.CompletedProcess[str]) -> set[str]:
    """The modules a ``python -X importtime`` run loaded, read from its standard error."""
    # import time: self [us] | cumulative | imported package
    return {
        line.rpartition("|")[2].strip() for line in result.stderr.splitlines() if line.startswith("import time:")
    } - {"imported package"}


def server_modules(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == s or m.startswith(s + ".") for s in SERVER_MODULES))


def test_importing_the_cli_loads_no_server():
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import validator.cli.main"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    modules = imported(result)
    assert {"validator.cli.main", "validator.cli.serve", "validator.cli.check"} <= modules  # the listing was read
    assert server_modules(modules) == []


def test_check_runs_without_the_http_edge(dns, tmp_path):
    dns.zone.mx("example.com", 10, "mx.example.com")  # a domain that resolves: the check goes past syntax
    dns.zone.a("mx.example.com", "8.8.8.8")
    result = subprocess.run(
        [sys.executable, "-X", "importtime", *VALIDATOR[1:], "check", "jane@example.com"],
        env=env_for(dns, VALIDATOR_DATABASE_URL=f"sqlite:///{tmp_path}/v.sqlite3"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1].split()[:2] == ["jane@example.com", "deliverable"]
    modules = imported(result)
    assert {"validator.checker", "validator.runtime"} <= modules  # the check was made here, in this process
    assert server_modules(modules) == []


def test_the_import_listing_would_show_the_server():
    """The guard above can fail: importing the HTTP edge shows up in the same listing."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import validator.api"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert {"aiohttp.web", "validator.api"} <= set(server_modules(imported(result)))
