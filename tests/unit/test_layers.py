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
}


def imports_of(module: str) -> set[str]:
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from .x import y / from . import x
                base = "validator" + (f".{node.module}" if node.module else "")
                found |= {base} if node.module else {f"validator.{a.name}" for a in node.names}
            else:
                found.add(node.module or "")
    return found


@pytest.mark.parametrize("module", sorted(RULES))
def test_module_respects_its_layer(module):
    forbidden = RULES[module]
    bad = {name for name in imports_of(module) for f in forbidden if name == f or name.startswith(f + ".")}
    assert not bad, f"validator/{module}.py imports {sorted(bad)} across its layer"
