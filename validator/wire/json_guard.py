"""Limits on a streamed JSON body, checked on the bytes before the streaming parser sees them.

ijson's C backend (yajl) is fast but was measured to fail on hostile input: an integer past
Python's 4,300-digit conversion limit crashes the process (SIGSEGV), a token cut across many
network pieces is re-read from its start at every piece (a 4 MB string took 15 s, a 250 KB number
0.65 s), and deep nesting has no limit. So ``JsonGuard`` scans each piece first and refuses
(``InvalidJson``) nesting deeper than orjson's own limit, a number longer than ``MAX_NUMBER_CHARS``
and a string longer than ``MAX_STRING_BYTES`` (docs/limits.md). It only tracks where strings,
numbers and brackets are; the parser behind it still judges whether the JSON is valid.

One regular expression step skips everything that is neither a bracket, a number nor a string
cut by the piece's end (complete strings included), so a list of addresses costs a few steps per
512-byte piece, not one per byte. Pure.
"""

from __future__ import annotations

import re

from validator.errors import InvalidJson

MAX_DEPTH = 1024  # orjson's limit, so every JSON endpoint refuses the same nesting
MAX_NUMBER_CHARS = 100  # a job body holds no number that means anything; a 64-bit integer is 20
MAX_STRING_BYTES = 65_536  # as encoded, escapes included; an address is at most 254 octets (RFC 5321)

# Bytes that change nothing here (whitespace, commas, colons, letters of true/false/null) and
# whole strings; stops at a bracket, the start of a number or a string the piece cuts.
_QUIET = re.compile(rb'(?:[^"\[\]{}0-9\-]++|"[^"\\]*+(?:\\.[^"\\]*+)*+")*+', re.DOTALL)
_STRING_REST = re.compile(rb'[^"\\]*+(?:\\.[^"\\]*+)*+', re.DOTALL)  # stops at the closing quote or a cut escape
_NUMBER = re.compile(rb"[0-9eE.+\-]*+")
_OUTSIDE, _STRING, _ESCAPE, _NUMBER_STATE = range(4)


class JsonGuard:
    """Feed the body's pieces in order; ``InvalidJson`` as soon as one breaks a limit.

    A string that fits in one piece is skipped whole, unmeasured: pieces are cut to at most the
    string limit first, so a longer string always spans pieces and is measured."""

    def __init__(
        self, max_depth: int = MAX_DEPTH, max_number: int = MAX_NUMBER_CHARS, max_string: int = MAX_STRING_BYTES
    ) -> None:
        self._max_depth, self._max_number, self._max_string = max_depth, max_number, max_string
        self._state = _OUTSIDE
        self._depth = 0
        self._token = 0  # bytes of the string (quotes included) or number under way

    def feed(self, data: bytes) -> None:
        for start in range(0, len(data), self._max_string):
            self._feed(data[start : start + self._max_string] if len(data) > self._max_string else data)

    def _feed(self, data: bytes) -> None:
        pos, size = 0, len(data)
        while pos < size:
            if self._state == _OUTSIDE:
                pos = _QUIET.match(data, pos).end()  # type: ignore[union-attr]  # always matches
                if pos < size:
                    pos = self._token_at(data, pos)
            elif self._state == _NUMBER_STATE:
                end = _NUMBER.match(data, pos).end()  # type: ignore[union-attr]
                self._grow(end - pos, self._max_number, "a number")
                self._state, pos = (_NUMBER_STATE if end == size else _OUTSIDE), end
            else:
                if self._state == _ESCAPE:  # the piece before ended on a backslash: this byte is escaped
                    self._grow(1, self._max_string, "a string")
                    pos += 1
                pos = self._string_from(data, pos)

    def _token_at(self, data: bytes, pos: int) -> int:
        byte = data[pos]
        if byte in b"[{":
            self._depth += 1
            if self._depth > self._max_depth:
                raise InvalidJson(f"request body is nested deeper than {self._max_depth} levels")
            return pos + 1
        if byte in b"]}":
            self._depth -= 1
            return pos + 1
        if byte == 0x22:  # a string the piece cuts: the rest of the piece is inside it
            self._token = 1
            return self._string_from(data, pos + 1)
        self._token, self._state = 0, _NUMBER_STATE
        return pos

    def _string_from(self, data: bytes, pos: int) -> int:
        end = _STRING_REST.match(data, pos).end()  # type: ignore[union-attr]
        if end < len(data):  # at the closing quote, or at a backslash ending the piece
            self._grow(end + 1 - pos, self._max_string, "a string")
            self._state = _ESCAPE if data[end] == 0x5C else _OUTSIDE
            return end + 1
        self._grow(end - pos, self._max_string, "a string")
        self._state = _STRING
        return end

    def _grow(self, count: int, limit: int, what: str) -> None:
        self._token += count
        if self._token > limit:
            raise InvalidJson(f"request body holds {what} longer than {limit:,} bytes")
