"""The README configuration table and Settings stay in step."""

import re
from dataclasses import fields
from pathlib import Path

from validator.config import Settings, env_name

README = Path(__file__).parents[2] / "README.md"


def _table() -> dict[str, str]:
    text = README.read_text()
    block = text.split("<!-- CONFIG-TABLE:START -->")[1].split("<!-- CONFIG-TABLE:END -->")[0]
    return dict(re.findall(r"^\| `(VALIDATOR_[A-Z0-9_]+)` \| ([^|]+) \|", block, re.M))


def _shown(value: object) -> str:
    if value == ():
        return "(system resolvers)"
    return "`" + (str(value).lower() if isinstance(value, bool) else str(value)) + "`"


def test_every_setting_is_in_the_readme_with_its_default():
    table = _table()
    expected = {env_name(f.name): _shown(f.default) for f in fields(Settings)}
    assert {k: v.strip() for k, v in table.items()} == expected
