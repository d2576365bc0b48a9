"""README.md and docs/ stay in step with the code: the settings tables, the names of settings, the blocks."""

import re
from pathlib import Path

import pytest

from tests.support.configdoc import (
    CONFIGURATION,
    MarkersMissing,
    readme_variables,
    render_configuration,
    render_readme,
    table_rows,
)

ROOT = Path(__file__).parents[2]
README = ROOT / "README.md"
DOCUMENTS = [README, *sorted((ROOT / "docs").glob("*.md"))]
REGENERATE = "regenerate with: .venv/bin/python tests/support/configdoc.py"
# docs/cli.md and docs/configuration.md show the error a misspelt variable gets: this one is meant to be unknown
MISSPELT_ON_PURPOSE = {"VALIDATOR_DNS_TIMOUT"}


def test_configuration_page_lists_every_setting_as_settings_describes_it():
    text = CONFIGURATION.read_text()
    assert text == render_configuration(text), REGENERATE


def test_configuration_page_has_a_row_for_every_settings_field():
    from dataclasses import fields

    from validator.config import Settings

    listed = re.findall(r"^\| `(VALIDATOR_[A-Z0-9_]+)` \|", CONFIGURATION.read_text(), flags=re.M)
    assert listed == [f.metadata["env"] for f in fields(Settings)], REGENERATE


def test_readme_settings_rows_are_the_generated_ones():
    text = README.read_text()
    assert text == render_readme(text), REGENERATE
    chosen = readme_variables(text)
    assert chosen and len(chosen) == len(set(chosen)), "README lists the settings people change, each once"
    assert set(chosen) <= set(table_rows())


def test_readme_is_a_front_page():
    assert len(README.read_text().splitlines()) <= 250, "README is the front page: move detail to docs/"


def test_every_docs_page_is_on_the_readme_map():
    text = README.read_text()
    missing = [p.name for p in DOCUMENTS[1:] if f"(docs/{p.name})" not in text]
    assert not missing, f"pages the README's map does not link: {missing}"


def test_a_page_without_its_markers_is_refused_rather_than_rewritten():
    with pytest.raises(MarkersMissing):
        render_configuration("# Configuration\n\nno table here\n")


def test_every_setting_the_docs_name_exists():
    """A renamed or removed setting leaves no stale name in prose: ``VALIDATOR_X`` must be a setting,
    ``VALIDATOR_X_*`` the prefix of one."""
    names = set(table_rows())
    stale = []
    for document in DOCUMENTS:
        for match in re.finditer(r"VALIDATOR_[A-Z0-9_]*", document.read_text()):
            name = match.group(0)
            known = name in names or (name.endswith("_") and any(n.startswith(name) for n in names))
            if not known and name not in MISSPELT_ON_PURPOSE:
                stale.append(f"{document.relative_to(ROOT)}: {name}")
    assert not stale, "settings named in the docs that Settings does not have:\n" + "\n".join(stale)


def test_every_fenced_block_of_the_docs_says_whether_it_runs():
    """The run itself is tests/meta/test_readme_commands.py; this fails fast on a block it cannot read."""
    from tests.support.doccommands import read_blocks

    for document in DOCUMENTS:
        read_blocks(document.read_text(), document.name)  # raises DocumentError, naming the line


def _anchors(document: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens (code blocks skipped)."""
    text = re.sub(r"```.*?```", "", document.read_text(), flags=re.S)
    headings = re.findall(r"^#+ (.*)$", text, flags=re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_every_link_between_the_docs_resolves():
    """A page moved or a heading renamed leaves no dead link behind (links outside the repository are not fetched)."""
    dead = []
    for document in DOCUMENTS:
        for target in re.findall(r"\]\(([^)\s]+)\)", document.read_text()):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            file, _, anchor = target.partition("#")
            destination = document.parent / file if file else document
            if not destination.exists():
                dead.append(f"{document.relative_to(ROOT)}: {target}: no such file")
            elif anchor and destination.suffix == ".md" and anchor not in _anchors(destination):
                dead.append(f"{document.relative_to(ROOT)}: {target}: no such heading")
    assert not dead, "dead links:\n" + "\n".join(dead)


def test_every_reason_code_has_its_place_in_the_order_of_precedence():
    """A new ``Reason`` is not done until docs/verdicts.md says at which step it is decided (and README lists it)."""
    from validator.model import Reason

    for document in (ROOT / "docs" / "verdicts.md", README):
        text = document.read_text()
        missing = [r.value for r in Reason if f"`{r.value}`" not in text]
        assert not missing, f"{document.relative_to(ROOT)} does not name {missing}"


def test_every_file_the_docs_name_exists():
    """A module moved or renamed leaves no stale path in the docs (``{a,b}.py`` spells several files)."""
    stale = []
    for document in DOCUMENTS:
        for path in re.findall(
            r"(?<![/\w$])((?:validator|tests|bench|scripts|examples)/[\w./{},-]*\w)", document.read_text()
        ):
            head, _, rest = path.partition("{")
            names, _, tail = rest.partition("}")
            for name in names.split(",") if rest else [""]:
                if not (ROOT / f"{head}{name}{tail}").exists():
                    stale.append(f"{document.relative_to(ROOT)}: {head}{name}{tail}")
    assert not stale, "files named in the docs that do not exist:\n" + "\n".join(stale)
