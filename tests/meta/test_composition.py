"""One composition root: the services a validation needs are built in ``validator/runtime.py`` only.

The app, the CLI and the job runner's child all get them from ``runtime.open_services`` /
``build_services``, so the assembly (and its teardown order) cannot drift apart again.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[2] / "validator"
ASSEMBLED = ("MxResolver", "Prober", "Checker")


def constructions(name: str, package: Path = PACKAGE) -> list[str]:
    """Where ``name(...)`` is called in ``package``, as ``path:line`` (the path from its parent)."""
    found = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name:
                found.append(f"{path.relative_to(package.parent)}:{node.lineno}")
    return found


@pytest.mark.parametrize("name", ASSEMBLED)
def test_each_service_is_constructed_only_in_the_composition_root(name):
    places = constructions(name)
    assert len(places) == 1 and places[0].startswith("validator/runtime.py:"), places


def test_the_check_sees_a_construction_elsewhere(tmp_path):
    package = tmp_path / "validator"
    (package / "cli").mkdir(parents=True)
    (package / "runtime.py").write_text("resolver = MxResolver(settings)\n")
    (package / "cli" / "check.py").write_text("from validator.mx import MxResolver\n\nresolver = MxResolver(None)\n")
    assert constructions("MxResolver", package) == ["validator/cli/check.py:3", "validator/runtime.py:1"]
