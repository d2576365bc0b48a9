"""bench/ and scripts/ import test helpers inside functions (a benchmark's child process, a lazy
import): every module they name must exist, though no test runs them (benchmarks are not tests)."""

import ast
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


def imported_modules(path: Path) -> set[str]:
    """Every absolute module ``path`` imports, at any depth (in functions too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


# bench/**: a benchmark may be a package of its own (bench/suppressions/)
@pytest.mark.parametrize(
    "path",
    sorted([*ROOT.glob("bench/**/*.py"), *ROOT.glob("scripts/*.py")]),
    ids=lambda p: p.relative_to(ROOT).as_posix(),
)
def test_every_project_module_a_tool_imports_exists(path):
    ours = {m for m in imported_modules(path) if m.split(".")[0] in ("tests", "validator", "bench")}
    missing = sorted(m for m in ours if importlib.util.find_spec(m) is None)
    assert missing == [], f"{path.relative_to(ROOT)} imports modules that do not exist"
