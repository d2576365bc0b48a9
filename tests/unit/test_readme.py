"""The README configuration table and Settings stay in step."""

from pathlib import Path

from validator.config import config_table

README = Path(__file__).parents[2] / "README.md"


def test_readme_configuration_table_matches_settings():
    text = README.read_text()
    block = text.split("<!-- CONFIG-TABLE:START -->\n")[1].split("<!-- CONFIG-TABLE:END -->")[0]
    assert block == config_table(), "regenerate with: python -m validator.config"


def test_every_fenced_block_of_the_docs_says_whether_it_runs():
    """The run itself is tests/integration/test_readme_commands.py; this fails fast on a block it cannot read."""
    from doccommands import read_blocks

    for document in [README, *sorted((README.parent / "docs").glob("*.md"))]:
        read_blocks(document.read_text(), document.name)  # raises DocumentError, naming the line
