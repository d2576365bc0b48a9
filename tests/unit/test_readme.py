"""The README configuration table and Settings stay in step."""

from pathlib import Path

from validator.config import config_table

README = Path(__file__).parents[2] / "README.md"


def test_readme_configuration_table_matches_settings():
    text = README.read_text()
    block = text.split("<!-- CONFIG-TABLE:START -->\n")[1].split("<!-- CONFIG-TABLE:END -->")[0]
    assert block == config_table(), "regenerate with: python -m validator.config"
