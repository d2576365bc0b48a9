"""Imports point down only: the pure core does no I/O, adapters never reach the edges."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[2] / "validator"
IO_LIBRARIES = {"asyncio", "socket", "sqlite3", "aiohttp", "aiodns", "pycares", "dns", "asyncpg", "aiosmtpd", "ssl"}
PURE_READER = {
    "pathlib",
    "validator.checker",
    "validator.api",
    "validator.store",
    "validator.cli",
    "validator.bounces.webhook_keys",
}
WEBHOOK_MODULES = ("__init__", "payload", "signing", "ses", "sendgrid", "mailgun", "postmark")
FILE_LIBRARIES = {"os", "pathlib", "io", "shutil", "tempfile", "mailbox"}
# module -> what it may not import (validator.* names are relative to the package)
RULES = {
    "model": IO_LIBRARIES | {"validator"},
    "errors": IO_LIBRARIES | {"validator"},
    "config": IO_LIBRARIES | {"validator.model", "validator.syntax", "validator.checker", "validator.api"},
    "syntax": IO_LIBRARIES | {"validator.checker", "validator.api", "validator.mx", "validator.cli"},
    "signals": IO_LIBRARIES | {"validator.checker", "validator.api", "validator.mx", "validator.cli"},
    "typos": IO_LIBRARIES | {"validator"},
    "verdict": IO_LIBRARIES
    | {
        "validator.checker",
        "validator.api",
        "validator.mx",
        "validator.cli",
        "validator.probe",
        "validator.smtp_session",
    },
    "metrics": IO_LIBRARIES | {"validator.checker", "validator.api", "validator.mx", "validator.cli"},
    "mx": {"aiohttp", "validator.checker", "validator.api", "validator.cli", "validator.syntax"},
    "checker": {
        "aiohttp",
        "socket",
        "ssl",
        "validator.api",
        "validator.cli",
        "validator.smtp_session",
        "validator.probe_pool",
    },
    "suppression": IO_LIBRARIES | {"validator.checker", "validator.api", "validator.store", "validator.cli"},
    "importer": {"aiohttp", "validator.api", "validator.cli"},
    "store/keyfilter": IO_LIBRARIES | {"validator"},
    "smtp_reply": IO_LIBRARIES | {"validator"},
    "csv_records": IO_LIBRARIES | {"validator"},
    "json_guard": IO_LIBRARIES | {"validator.checker", "validator.api", "validator.store", "validator.cli"},
    "body": IO_LIBRARIES | {"validator.checker", "validator.api", "validator.store", "validator.cli"},
    "policy": IO_LIBRARIES | {"validator.checker", "validator.api", "validator.store", "validator.cli"},
    "bounces/facts": IO_LIBRARIES | {"validator"},
    "health": IO_LIBRARIES | {"validator.checker", "validator.api", "validator.store", "validator.cli"},
    "store/ingest_records": IO_LIBRARIES | {"validator.api", "validator.checker", "validator.cli"},
    "bounces/ingest": {"aiohttp", "sqlite3", "asyncpg", "validator.api", "validator.cli"},
    "bounces/classify": IO_LIBRARIES | {"validator.checker", "validator.api", "validator.store", "validator.cli"},
    # bounce readers are pure: bytes in, facts out; keys arrive loaded, so not even pathlib
    **{
        f"bounces/{module}": IO_LIBRARIES | PURE_READER
        for module in ("evidence", "events", *(f"webhooks/{name}" for name in WEBHOOK_MODULES))
    },
    "bounces/webhook_keys": {
        "aiohttp",
        "asyncio",
        "socket",
        "validator.api",
        "validator.checker",
        "validator.cli",
        "validator.store",
    },
    # the raw-message readers: bytes in, facts out; no files either (the CLI and API read them)
    **{
        f"bounces/{name}": IO_LIBRARIES
        | FILE_LIBRARIES
        | {"validator.checker", "validator.api", "validator.store", "validator.cli", "validator.policy"}
        for name in ("message", "mime", "dsn", "mta", "arf", "autoreply", "ses")
    },
    "netguard": IO_LIBRARIES | {"validator"},
    "disagreements": {"aiohttp", "socket", "sqlite3", "asyncpg", "validator.api", "validator.cli", "validator.store"},
    "ratelimit": IO_LIBRARIES | {"validator"},  # pure; the bulk-jobs callback check will share it
    # the prober's three layers: only smtp_session touches sockets and ssl
    "smtp_session": {
        "aiohttp",
        "aiodns",
        "pycares",
        "sqlite3",
        "asyncpg",
        "validator.checker",
        "validator.api",
        "validator.cli",
        "validator.mx",
        "validator.probe",
        "validator.probe_pool",
        "validator.config",
    },
    "probe_pool": {
        "socket",
        "aiohttp",
        "aiodns",
        "sqlite3",
        "asyncpg",
        "redis",
        "validator.checker",
        "validator.api",
        "validator.cli",
        "validator.mx",
        "validator.probe",
    },
    "probe": {
        "aiohttp",
        "aiodns",
        "sqlite3",
        "asyncpg",
        "ssl",
        "validator.checker",
        "validator.api",
        "validator.cli",
        "validator.mx",
    },
    "probe_connections": {
        "aiohttp",
        "aiodns",
        "sqlite3",
        "asyncpg",
        "redis",
        "validator.checker",
        "validator.api",
        "validator.cli",
        "validator.mx",
        "validator.probe",
        "validator.probe_pool",
    },
    # what a host taught the prober: no sockets of its own, no store, no caller
    "probe_host": {
        "socket",
        "ssl",
        "aiohttp",
        "sqlite3",
        "asyncpg",
        "redis",
        "validator.checker",
        "validator.api",
        "validator.cli",
        "validator.mx",
        "validator.probe",
        "validator.probe_pool",
        "validator.config",
    },
    # shared limits: the protocol and memory default reach no network; each backend only its own client
    "probe_limits": {
        "socket",
        "ssl",
        "aiohttp",
        "sqlite3",
        "asyncpg",
        "redis",
        "validator.smtp_session",
        "validator.probe",
        "validator.probe_pool",
        "validator.checker",
        "validator.api",
        "validator.cli",
    },
    "probe_limits_redis": {
        "socket",
        "ssl",
        "aiohttp",
        "sqlite3",
        "asyncpg",
        "validator.smtp_session",
        "validator.probe",
        "validator.probe_pool",
        "validator.checker",
        "validator.api",
        "validator.cli",
        "validator.store",
    },
    "probe_limits_postgres": {
        "socket",
        "ssl",
        "aiohttp",
        "sqlite3",
        "redis",
        "validator.smtp_session",
        "validator.probe",
        "validator.probe_pool",
        "validator.checker",
        "validator.api",
        "validator.cli",
    },
    "store/records": IO_LIBRARIES - {"asyncio"} | {"validator.api", "validator.checker", "validator.cli"},
    "store/sqlite": {"aiohttp", "asyncpg", "validator.api", "validator.checker", "validator.cli", "validator.mx"},
    "store/sqlite_sql": {"aiohttp", "asyncpg", "validator.api", "validator.checker", "validator.cli"},
    "store/postgres": {"aiohttp", "sqlite3", "validator.api", "validator.checker", "validator.cli", "validator.mx"},
    # bulk jobs (issue 6)
    "job_model": IO_LIBRARIES | {"validator"},
    "upload": IO_LIBRARIES
    | {"validator.checker", "validator.api", "validator.store", "validator.cli", "validator.jobs"},
    "callback_guard": IO_LIBRARIES | {"validator.checker", "validator.api", "validator.store", "validator.jobs"},
    "callbacks": {"validator.api", "validator.checker", "validator.store", "validator.jobs", "validator.cli"},
    "jobs": {"aiohttp", "sqlite3", "asyncpg", "validator.api", "validator.cli", "validator.callbacks"},
    "store/job_records": IO_LIBRARIES | {"validator.api", "validator.checker", "validator.cli", "validator.jobs"},
    "store/job_store": IO_LIBRARIES | {"validator.api", "validator.checker", "validator.cli", "validator.jobs"},
    "store/jobs_sqlite": {
        "aiohttp",
        "asyncpg",
        "validator.api",
        "validator.checker",
        "validator.cli",
        "validator.jobs",
    },
    "store/jobs_postgres": {
        "aiohttp",
        "sqlite3",
        "validator.api",
        "validator.checker",
        "validator.cli",
        "validator.jobs",
    },
    "store/event_reads": IO_LIBRARIES | {"validator.api", "validator.checker", "validator.cli"},
    "api/job_wire": {"aiohttp", "asyncio", "sqlite3", "asyncpg", "validator.callbacks", "validator.jobs"},
}


def imports_of(module: str) -> set[str]:
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    package = "validator" + ("." + module.rsplit("/", 1)[0].replace("/", ".") if "/" in module else "")
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from .x import y / from . import x / from ..x import y
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = parent + (f".{node.module}" if node.module else "")
                found |= {base} if node.module else {f"{parent}.{a.name}" for a in node.names}
            else:
                found.add(node.module or "")
    return found


@pytest.mark.parametrize("module", sorted(RULES))
def test_module_respects_its_layer(module):
    forbidden = RULES[module]
    bad = {name for name in imports_of(module) for f in forbidden if name == f or name.startswith(f + ".")}
    assert not bad, f"validator/{module}.py imports {sorted(bad)} across its layer"
