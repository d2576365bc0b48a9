"""The limits checked on a streamed JSON body before ijson sees it: depth, number and string length,
the same wherever the network cuts the body, and never in the way of JSON within them."""

from __future__ import annotations

import random

import orjson
import pytest

from validator.errors import InvalidJson
from validator.wire.json_guard import MAX_DEPTH, MAX_NUMBER_CHARS, MAX_STRING_BYTES, JsonGuard


def guard(data: bytes, step: int) -> None:
    checker = JsonGuard()
    for i in range(0, len(data), step):
        checker.feed(data[i : i + step])


def reference(data: bytes) -> tuple[int, int, int]:
    """Deepest nesting, longest number and longest string (quotes included), byte by byte."""
    depth = deepest = number = longest_number = string = longest_string = 0
    inside = escaped = False
    for byte in data:
        if inside:
            string += 1
            if escaped:
                escaped = False
            elif byte == 0x5C:
                escaped = True
            elif byte == 0x22:
                inside, longest_string = False, max(longest_string, string)
            continue
        if chr(byte) in "0123456789eE.+-" and (number or chr(byte) in "0123456789-"):
            number += 1
            longest_number = max(longest_number, number)
            continue
        number = 0
        if byte == 0x22:
            inside, string = True, 1
        elif chr(byte) in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif chr(byte) in "]}":
            depth -= 1
    return deepest, longest_number, max(longest_string, string if inside else 0)


def test_the_guard_measures_as_a_byte_by_byte_reading_does_whatever_the_cut():
    # brackets, numbers, strings with escaped quotes and backslashes, words: a dense mix
    alphabet = ["[", "]", "{", "}", '"', "\\", "\\\\", '\\"', "1", "-", "e", "a", ",", ":", " ", "true"]
    rng = random.Random(8259)
    for _ in range(3000):
        data = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60))).encode()
        depth, number, string = reference(data)
        exact = (max(depth, 1), max(number, 1), max(string, 1))  # 0: no such token, and a limit is at least 1
        tighter = [
            exact[:i] + (exact[i] - 1,) + exact[i + 1 :] for i, found in enumerate((depth, number, string)) if found > 1
        ]
        for limits in [exact, *tighter]:
            checker, step = JsonGuard(*limits), rng.randint(1, 9)
            try:
                for i in range(0, len(data), step):
                    checker.feed(data[i : i + step])
                refused = False
            except InvalidJson:
                refused = True
            assert refused == (limits != exact), (data, limits, step)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"emails":' + b"[" * MAX_DEPTH + b"]" * MAX_DEPTH + b"}", "nested deeper than 1024 levels"),
        (b'{"emails":[' + b"9" * 4301 + b"]}", "a number longer than 100 bytes"),  # crashed ijson's C backend
        (b'{"smtp":-' + b"1" * MAX_NUMBER_CHARS + b"}", "a number longer than 100 bytes"),
        (b'{"emails":["' + b"a" * MAX_STRING_BYTES + b'"]}', "a string longer than 65,536 bytes"),
    ],
    ids=["depth", "huge-integer", "long-option-number", "long-string"],
)
@pytest.mark.parametrize("step", [1, 7, 512])
def test_over_the_limit_is_invalid_json(data, message, step):
    with pytest.raises(InvalidJson, match=message):
        guard(data, step)


def test_json_at_the_limits_passes():
    # what orjson itself accepts at its limits passes here too
    deepest = b"[" * MAX_DEPTH + b"]" * MAX_DEPTH
    longest = b'["' + b"a" * (MAX_STRING_BYTES - 2) + b'", ' + b"1" * MAX_NUMBER_CHARS + b"]"
    for data in (deepest, longest):
        orjson.loads(data)
        guard(data, 512)
