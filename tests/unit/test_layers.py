"""Imports point down only: the pure core does no I/O, adapters never reach the edges."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[2] / "validator"
IO_LIBRARIES = {"asyncio", "socket", "sqlite3", "aiohttp", "aiodns", "pycares", "dns", "asyncpg", "aiosmtpd", "ssl"}
# module -> what it may not import (validator.* names are relative to the package)
RULES = {
    "model": IO_LIBRARIES | {"validator"},
    "errors": IO_LIBRARIES | {"validator"},
    "config": IO_LIBRARIES | {"validator.model", "validator.syntax", "validator.checker", "validator.api"},
    "syntax": IO_LIBRARIES | {"validator.checker", "validator.api", "validator.mx", "validator.cli"},
    "signals": IO_LIBRARIES | {"validator.checker", "validator.api", "validator.mx", "validator.cli"},
    "verdict": IO_LIBRARIES | {"validator.checker", "validator.api", "validator.mx", "validator.cli"},
    "metrics": IO_LIBRARIES | {"validator.checker", "validator.api", "validator.mx", "validator.cli"},
    "mx": {"aiohttp", "validator.checker", "validator.api", "validator.cli", "validator.syntax"},
    "checker": {"aiohttp", "validator.api", "validator.cli"},
    "suppression": IO_LIBRARIES | {"validator.checker", "validator.api", "validator.store", "validator.cli"},
    "importer": {"aiohttp", "validator.api", "validator.cli"},
    "store/keyfilter": IO_LIBRARIES | {"validator"},
    "smtp_reply": IO_LIBRARIES | {"validator"},
    "store/records": IO_LIBRARIES - {"asyncio"} | {"validator.api", "validator.checker", "validator.cli"},
    "store/sqlite": {"aiohttp", "asyncpg", "validator.api", "validator.checker", "validator.cli", "validator.mx"},
    "store/sqlite_sql": {"aiohttp", "asyncpg", "validator.api", "validator.checker", "validator.cli"},
    "store/postgres": {"aiohttp", "sqlite3", "validator.api", "validator.checker", "validator.cli", "validator.mx"},
    # bulk jobs (issue 6)
    "job_model": IO_LIBRARIES | {"validator"},
    "upload": IO_LIBRARIES | {"validator.checker", "validator.api", "validator.store", "validator.cli", "validator.jobs"},
    "callback_guard": IO_LIBRARIES | {"validator.checker", "validator.api", "validator.store", "validator.jobs"},
    "callbacks": {"validator.api", "validator.checker", "validator.store", "validator.jobs", "validator.cli"},
    "jobs": {"aiohttp", "sqlite3", "asyncpg", "validator.api", "validator.cli", "validator.callbacks"},
    "store/job_records": IO_LIBRARIES | {"validator.api", "validator.checker", "validator.cli", "validator.jobs"},
    "store/job_store": IO_LIBRARIES | {"validator.api", "validator.checker", "validator.cli", "validator.jobs"},
    "store/jobs_sqlite": {"aiohttp", "asyncpg", "validator.api", "validator.checker", "validator.cli", "validator.jobs"},
    "store/jobs_postgres": {"aiohttp", "sqlite3", "validator.api", "validator.checker", "validator.cli",
                            "validator.jobs"},
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
