"""What the wheel carries is what the code reads: every module in a package, every data file matched.

setuptools (``[tool.setuptools.packages.find]`` in pyproject.toml) ships only directories with an
``__init__.py``, and of the other files only those a ``package-data`` pattern names: a new
subpackage without ``__init__.py``, or a word list in a new folder, works from the source tree and
is missing from an installed service. Read from pyproject.toml and the tree, without building.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from setuptools import find_packages

ROOT = Path(__file__).parents[2]
PACKAGE = ROOT / "validator"
SETUPTOOLS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_folder_of_python_modules_is_a_package_the_wheel_ships():
    shipped = set(find_packages(str(ROOT), include=SETUPTOOLS["packages"]["find"]["include"]))
    folders = {
        ".".join(path.parent.relative_to(ROOT).parts)
        for path in PACKAGE.rglob("*.py")
        if "__pycache__" not in path.parts
    }
    assert folders - shipped == set(), "add an __init__.py to each of these folders"


def test_every_data_file_is_named_by_package_data():
    patterns = SETUPTOOLS["package-data"]["validator"]
    matched = {path for pattern in patterns for path in PACKAGE.glob(pattern)}
    data = {
        path
        for path in PACKAGE.rglob("*")
        if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts
    }
    assert data, "the package holds data files (word lists, static pages): none found"
    assert sorted(str(p.relative_to(PACKAGE)) for p in data - matched) == [], "add a package-data pattern"
