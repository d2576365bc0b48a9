"""One name per concept: no two classes in validator/ share a name (``Job`` meant a bulk job and a
queued SMTP recipient; ``Decision`` a verdict's ruling and an ingestion's decision)."""

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).parents[2] / "validator"


def shared_class_names(package: Path = PACKAGE) -> dict[str, list[str]]:
    """Class names defined at the top of more than one module, with the modules."""
    where: dict[str, list[str]] = defaultdict(list)
    for path in sorted(package.rglob("*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ClassDef):
                where[node.name].append(str(path.relative_to(package.parent)))
    return {name: paths for name, paths in where.items() if len(paths) > 1}


def test_no_two_classes_share_a_name():
    assert shared_class_names() == {}


def test_the_check_sees_a_shared_name(tmp_path):
    package = tmp_path / "validator"
    (package / "jobs").mkdir(parents=True)
    (package / "jobs" / "model.py").write_text("class Job:\n    pass\n")
    (package / "host.py").write_text("class Job:\n    pass\n")
    assert shared_class_names(package) == {"Job": ["validator/host.py", "validator/jobs/model.py"]}
