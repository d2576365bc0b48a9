"""How the README test reads examples: labels, commands, documented answers, and what counts as drift."""

import pytest

from tests.support.doccommands import MORE, DocumentError, mismatches, parse_answer, read_blocks

FENCE = "```"


def doc(*lines: str) -> str:
    return "\n".join(lines) + "\n"


def test_commands_join_continuations_and_quotes_and_take_their_answers():
    text = doc(
        f"{FENCE}sh",
        "H=x",
        "curl -s a \\",
        "   -d '{",
        '  "k": 1}\'',
        '# {"count": 1,',
        "#  ...}",
        "validator check x@y.com   # a table (exit 1: null MX)",
        f"{FENCE}",
    )
    [block] = read_blocks(text, "R.md")
    assert [c.line for c in block.commands] == [2, 3, 8]
    assert block.commands[1].text.endswith('"k": 1}\'')
    assert block.commands[1].expected == {"count": 1, MORE: True}
    assert block.commands[2].exit_status == 1 and block.commands[2].expected is None


def test_a_json_block_right_after_a_run_block_is_its_last_answer_but_not_after_prose():
    text = doc(
        f"{FENCE}sh",
        "curl a",
        f"{FENCE}",
        "",
        f"{FENCE}json",
        '{"a": 1}',
        f"{FENCE}",
        f"{FENCE}sh",
        "curl b",
        f"{FENCE}",
        "Prose.",
        f"{FENCE}json",
        '{"b": 2}',
        f"{FENCE}",
    )
    first, _, second, _ = read_blocks(text, "R.md")
    assert first.commands[0].expected == {"a": 1}
    assert second.commands[0].expected is None


def test_a_prose_comment_is_not_an_answer():
    [block] = read_blocks(doc(f"{FENCE}sh", "curl a", "# then ask again", "curl b", f"{FENCE}"), "R.md")
    assert [c.expected for c in block.commands] == [None, None]


@pytest.mark.parametrize(
    "info",
    [
        pytest.param("", id="unlabelled"),  # a shell example nobody runs would drift silently
        pytest.param("console", id="unknown-language"),
        pytest.param("sh norun", id="norun-without-reason"),
        pytest.param("sh later", id="unknown-attribute"),
    ],
)
def test_blocks_that_do_not_say_whether_they_run_are_refused(info: str):
    with pytest.raises(DocumentError):
        read_blocks(doc(f"{FENCE}{info}", "validator check a@b.com", f"{FENCE}"), "R.md")


def test_norun_with_a_reason_is_not_run():
    [block] = read_blocks(doc(f"{FENCE}sh norun: foreground server", "make serve", f"{FENCE}"), "R.md")
    assert not block.runs and block.commands == []


@pytest.mark.parametrize(
    ("documented", "actual", "drift"),
    [
        pytest.param('{"a": 1, ...}', {"a": 1, "b": 2}, False, id="elided-keys"),
        pytest.param('{"a": 1}', {"a": 1, "b": None}, True, id="undocumented-key"),  # checks.bounces was missing
        pytest.param('{"a": 1, "b": 2}', {"a": 1}, True, id="missing-key"),
        pytest.param('{"status": "risky"}', {"status": "undeliverable"}, True, id="other-string"),
        pytest.param('{"count": 3}', {"count": 2}, True, id="other-integer"),
        pytest.param('{"elapsed_ms": 0.9}', {"elapsed_ms": 0.2}, False, id="float-is-a-measurement"),
        pytest.param('{"elapsed_ms": 0.9}', {"elapsed_ms": "0.9"}, True, id="float-not-a-string"),
        pytest.param('{"id": "..."}', {"id": "0661eb"}, False, id="any-value"),
        pytest.param("[1, ...]", [1, 2, 3], False, id="elided-items"),
        pytest.param("[1]", [1, 2], True, id="extra-item"),
        pytest.param('{"results": [...]}', {"results": []}, False, id="any-list"),
        pytest.param('{"a": null}', {"a": False}, True, id="null-is-not-false"),
    ],
)
def test_mismatches(documented: str, actual: object, drift: bool):
    assert bool(mismatches(parse_answer([documented], "R.md:1"), actual)) is drift
