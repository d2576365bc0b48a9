"""Where the test data lives: ``tests/data``, carried in the repository (sources and licences in
``tests/data/SOURCES.md``), so that a fresh clone tests and benchmarks with nothing beside it."""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data"
BOUNCES = DATA / "bounces"  # sisimai/set-of-emails messages with Sisimai's labels
SYNTAX = DATA / "syntax"  # six validators' own syntax test cases, one JSON object per line
