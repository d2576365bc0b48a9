"""The shell examples of README.md and docs/*.md, read as a test can run them.

Pure: no processes, no files but the ones named. A fenced block's info string says what it is:

* ``sh`` (or ``bash``, ``shell``): commands that run as written, one bash session for all
  documents in order, so a variable set in one block (``TOKEN=...``) serves the next;
* ``sh norun: <why>``: commands shown but not run (a foreground server, outbound port 25), with
  the reason in the document itself; a ``norun`` without a reason is refused;
* ``json``, ``text``, ``csv``, ``yaml``, ``http``, ``python``: not commands.

A block with no info string, or another one, is refused rather than silently skipped: every
shell example is either run or says why not.

A command's documented answer is the run of comment lines right after it that starts with
``# {`` or ``# [`` (continued by ``#   ...`` lines), or a ``json`` block that directly follows a
run block (the answer of its last command). Answers may elide with ``...``: a bare ``...`` in
an object allows more keys, in a list more items; the string ``"..."`` stands for any value.
A trailing ``# ... (exit N)`` on a command documents a non-zero exit status.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Any

import orjson

RUN_LANGUAGES = frozenset({"sh", "bash", "shell"})
TEXT_LANGUAGES = frozenset({"json", "text", "csv", "yaml", "http", "python", "html", "css", "javascript"})
_FENCE = re.compile(r"^\s*(```+|~~~+)\s*(.*)$")  # indented too: fences inside list items
_EXIT = re.compile(r"\(exit (\d+)\b")
MORE = "__more__"  # what a bare ``...`` becomes: in an object a key, in a list an item


@dataclass
class Command:
    text: str  # the command as written (continuation lines joined by newlines), trailing comment kept
    line: int  # where it starts in its document, 1-based
    expected: Any = None  # the documented answer, parsed (None: none documented)
    exit_status: int = 0

    def where(self, document: str) -> str:
        return f"{document}:{self.line}"


@dataclass
class Block:
    language: str
    attributes: str
    line: int  # the opening fence's line
    body: list[str]
    commands: list[Command] = field(default_factory=list)

    @property
    def runs(self) -> bool:
        return self.language in RUN_LANGUAGES and not self.attributes.startswith("norun")


class DocumentError(ValueError):
    """A block the test cannot classify, or an answer it cannot read: the document must say more."""


def read_blocks(text: str, document: str) -> list[Block]:
    """Every fenced block of ``text``; run blocks get their commands and documented answers."""
    blocks: list[Block] = []
    lines = text.split("\n")
    i, previous_end = 0, -10
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        fence, info = opening.group(1), opening.group(2).strip()
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip().startswith(fence)), None)
        if end is None:
            raise DocumentError(f"{document}:{i + 1}: a fenced block that never closes")
        language, _, attributes = info.partition(" ")
        block = Block(language.lower(), attributes.strip(), i + 1, lines[i + 1 : end])
        _classify(block, document)
        if block.runs:
            block.commands = split_commands(block.body, block.line + 1, document)
        elif (
            block.language == "json"
            and blocks
            and blocks[-1].runs
            and blocks[-1].commands
            and all(not line.strip() for line in lines[previous_end + 1 : i])
        ):
            blocks[-1].commands[-1].expected = parse_answer(block.body, f"{document}:{block.line}")
        blocks.append(block)
        previous_end = end
        i = end + 1
    return blocks


def _classify(block: Block, document: str) -> None:
    where = f"{document}:{block.line}"
    if block.language in RUN_LANGUAGES:
        if block.attributes.startswith("norun") and not block.attributes[len("norun") :].strip(" :"):
            raise DocumentError(f"{where}: `norun` needs a reason: ```sh norun: <why it is not run>")
        if block.attributes and not block.attributes.startswith("norun"):
            raise DocumentError(f"{where}: unknown attribute {block.attributes!r} (only `norun: <why>`)")
    elif block.language not in TEXT_LANGUAGES:
        raise DocumentError(
            f"{where}: a fenced block labelled {block.language or 'nothing'!r}; label it `sh` (run by the README "
            f"test), `sh norun: <why>`, or one of {', '.join(sorted(TEXT_LANGUAGES))}"
        )


def split_commands(body: list[str], first_line: int, document: str) -> list[Command]:
    """Complete shell commands (quotes and ``\\`` continuations joined) with their answers."""
    commands: list[Command] = []
    pending: list[str] = []
    answer: list[str] = []
    attach = False  # the next answer comment belongs to the command just read
    for offset, line in enumerate(body):
        stripped = line.strip()
        if not pending and stripped.startswith("#"):
            if attach and (answer or re.match(r"#\s*[\[{]", stripped)):
                answer.append(stripped[1:])
            else:
                attach = False  # a comment of its own: prose
            continue
        if not pending:
            _close_answer(commands, answer, document)
            answer, attach = [], False
            if not stripped:
                continue
            start = first_line + offset
        pending.append(line)
        if _complete("\n".join(pending)):
            text = "\n".join(pending)
            status = _EXIT.search(text.rsplit("#", 1)[-1]) if "#" in text else None
            commands.append(Command(text, start, exit_status=int(status.group(1)) if status else 0))
            pending, attach = [], True
    if pending:
        raise DocumentError(f"{document}:{first_line}: a command that never ends (an open quote or a trailing \\)")
    _close_answer(commands, answer, document)
    return commands


def _close_answer(commands: list[Command], answer: list[str], document: str) -> None:
    if answer:
        commands[-1].expected = parse_answer(answer, commands[-1].where(document))


def _complete(text: str) -> bool:
    if text.rstrip().endswith("\\"):
        return False
    try:
        shlex.split(text, comments=True)
    except ValueError:  # "No closing quotation"
        return False
    return True


def parse_answer(lines: list[str], where: str) -> Any:
    """A documented answer, ``...`` elisions made explicit (``MORE``), as a JSON value."""
    text = _mark_elisions(" ".join(lines))
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise DocumentError(f"{where}: the documented answer is not JSON (with ... elisions): {exc}") from exc


def _mark_elisions(text: str) -> str:
    out: list[str] = []
    stack: list[str] = []
    i, in_string = 0, False
    while i < len(text):
        char = text[i]
        if in_string:
            out.append(char)
            if char == "\\":
                out.append(text[i + 1])
                i += 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
            out.append(char)
        elif text.startswith("...", i):
            out.append(f'"{MORE}": true' if stack and stack[-1] == "{" else f'"{MORE}"')
            i += 2
        else:
            if char in "{[":
                stack.append(char)
            elif char in "}]" and stack:
                stack.pop()
            out.append(char)
        i += 1
    return "".join(out)


def mismatches(expected: Any, actual: Any, path: str = "$") -> list[str]:
    """Where ``actual`` departs from the documented shape; empty when it matches.

    Objects: every documented key, no others unless elided; lists: the documented items in
    order, no more unless elided; ``"..."``: anything; integers, strings, booleans and null:
    equal; a documented float (a measurement such as ``elapsed_ms``): any number.
    """
    if expected == "...":
        return []
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: documented an object, got {_short(actual)}"]
        problems = [f"{path}: no key {key!r}" for key in expected if key != MORE and key not in actual]
        if MORE not in expected:
            problems += [f"{path}: undocumented key {key!r}" for key in actual if key not in expected]
        for key, value in expected.items():
            if key != MORE and key in actual:
                problems += mismatches(value, actual[key], f"{path}.{key}")
        return problems
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{path}: documented a list, got {_short(actual)}"]
        items = [item for item in expected if item != MORE]
        elided = len(items) != len(expected)
        if len(actual) < len(items) or (not elided and len(actual) != len(items)):
            return [f"{path}: documented {len(items)} item(s), got {len(actual)}"]
        return [p for n, item in enumerate(items) for p in mismatches(item, actual[n], f"{path}[{n}]")]
    if isinstance(expected, float) and not isinstance(expected, bool):
        ok = isinstance(actual, (int, float)) and not isinstance(actual, bool)
        return [] if ok else [f"{path}: documented a number, got {_short(actual)}"]
    if expected != actual or type(expected) is not type(actual):
        return [f"{path}: documented {_short(expected)}, got {_short(actual)}"]
    return []


def _short(value: Any) -> str:
    text = orjson.dumps(value).decode()
    return text if len(text) <= 80 else text[:77] + "..."
