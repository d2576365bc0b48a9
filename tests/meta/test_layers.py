"""Imports point down only, over every module: a new module fails here until it is given a rank.

Rank 0 is the shared vocabulary, 1 the pure core (bytes and values in, values out), 2 the
adapters (DNS, SMTP, stores, files), 3 the services that compose them, 4 the edges. A module
may import its own rank or lower; pure ranks import no I/O library; the HTTP edge never imports
the CLI, and the CLI reaches the HTTP edge only to serve.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[2] / "validator"
IO_LIBRARIES = {
    "asyncio", "socket", "ssl", "sqlite3", "asyncpg", "redis", "aiohttp", "aiodns", "pycares", "dns",
    "aiosmtpd", "os", "pathlib", "shutil", "tempfile", "mailbox", "subprocess", "multiprocessing",
}  # fmt: skip
VOCABULARY, PURE, ADAPTER, SERVICE, EDGE = range(5)
PURE_RANKS = {VOCABULARY, PURE}
# a package's rank holds for each module in it that is not listed on its own
RANKS = {
    "validator": VOCABULARY,
    "validator.__main__": EDGE,
    "validator.model": VOCABULARY,
    "validator.errors": VOCABULARY,
    "validator.smtp_reply": VOCABULARY,
    "validator.netguard": VOCABULARY,
    "validator.metrics": VOCABULARY,
    "validator.config": VOCABULARY,
    "validator.syntax": PURE,
    "validator.signals": PURE,
    "validator.verdict": PURE,
    "validator.wire": PURE,
    "validator.suppressions": PURE,
    "validator.suppressions.importer": ADAPTER,
    "validator.bounces": PURE,
    "validator.bounces.webhooks.secrets": ADAPTER,
    "validator.bounces.ingest": SERVICE,
    "validator.jobs.model": PURE,
    "validator.jobs.upload": PURE,
    "validator.jobs.sources": PURE,
    "validator.jobs.callback_guard": PURE,
    "validator.jobs.callbacks": ADAPTER,
    "validator.jobs": SERVICE,
    "validator.probe.ratelimit": PURE,
    "validator.probe": ADAPTER,
    "validator.probe.disagreements": SERVICE,
    "validator.store.keyfilter": PURE,
    "validator.store.records": PURE,
    "validator.store.job_records": PURE,
    "validator.store.migrations": PURE,
    "validator.store.event_reads": PURE,
    "validator.store.job_store": PURE,
    "validator.store.protocols": PURE,
    "validator.store.audit_trail": PURE,
    "validator.store": ADAPTER,
    "validator.priority": ADAPTER,
    "validator.mx": ADAPTER,
    "validator.checker": SERVICE,
    "validator.runtime": SERVICE,
    "validator.api": EDGE,
    "validator.cli": EDGE,
}
# the settings read the environment, once, at start-up: nothing after that touches it
IO_ALLOWED = {"validator.config.service": {"os"}, "validator.config.settings": {"os"}}
EDGES = ("validator.api", "validator.cli")
# the one way across the two edges: the CLI's serve command starts the HTTP service
EDGE_CROSSINGS = {"validator.cli.serve": {"validator.api"}}


def all_modules() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def rank_of(module: str, ranks: dict[str, int]) -> int | None:
    """The rank of the module, else of its nearest listed package."""
    name = module
    while name and (name != "validator" or module == "validator"):  # the root is no catch-all
        if name in ranks:
            return ranks[name]
        name = name.rpartition(".")[0]
    return None


def imports_of(module: str) -> set[str]:
    path = PACKAGE.parent / (module.replace(".", "/") + ".py")
    if not path.exists():
        path = PACKAGE.parent / module.replace(".", "/") / "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert not node.level, f"{module}: a relative import (write validator.x in full)"
            found.add(node.module or "")
            if node.module and node.module.startswith("validator"):  # from validator.x import module
                found |= {f"{node.module}.{alias.name}" for alias in node.names if alias.name.islower()}
    return found


def edge_of(name: str) -> str | None:
    return next((edge for edge in EDGES if name == edge or name.startswith(edge + ".")), None)


def violations(module: str, imported: set[str], ranks: dict[str, int]) -> list[str]:
    """Why ``module`` importing ``imported`` breaks the layering (empty: it does not)."""
    rank = rank_of(module, ranks)
    if rank is None:
        return [f"{module} has no rank: add it (or its package) to RANKS"]
    found = []
    for name in sorted(imported):
        top = name.partition(".")[0]
        if rank in PURE_RANKS and top in IO_LIBRARIES - IO_ALLOWED.get(module, set()):
            found.append(f"{module} (pure) imports the I/O library {name}")
        if top != "validator" or name == "validator":
            continue
        target = rank_of(name, ranks)
        if target is not None and target > rank:
            found.append(f"{module} (rank {rank}) imports {name} (rank {target})")
        edge = edge_of(name)
        if edge and edge_of(module) not in (None, edge) and edge not in EDGE_CROSSINGS.get(module, set()):
            found.append(f"{module} crosses to the other edge: {name}")
    return found


@pytest.mark.parametrize("module", all_modules())
def test_module_imports_only_its_rank_or_lower(module):
    assert violations(module, imports_of(module), RANKS) == []


def test_an_unplaced_module_fails():
    assert violations("validator.newthing", set(), RANKS) == [
        "validator.newthing has no rank: add it (or its package) to RANKS"
    ]


def test_an_upward_import_fails():
    ranks = {"validator.syntax": PURE, "validator.checker": SERVICE}
    assert violations("validator.syntax", {"validator.checker"}, ranks) == [
        "validator.syntax (rank 1) imports validator.checker (rank 3)"
    ]


def test_a_pure_module_importing_io_fails():
    assert violations("validator.syntax", {"socket"}, RANKS) == [
        "validator.syntax (pure) imports the I/O library socket"
    ]


def test_the_http_edge_importing_the_cli_fails():
    assert violations("validator.api.app", {"validator.cli.jobs"}, RANKS) == [
        "validator.api.app crosses to the other edge: validator.cli.jobs"
    ]


def test_the_cli_importing_the_http_edge_outside_serve_fails():
    assert violations("validator.cli.check", {"validator.api.app"}, RANKS) == [
        "validator.cli.check crosses to the other edge: validator.api.app"
    ]
