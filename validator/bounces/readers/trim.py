"""``trim_message(raw) -> bytes``: a raw message cut to what the bounce readers look at, so that
parsing it costs bounded memory whatever its size or shape.

The email package keeps every line as a ``str`` and every part, header and delivery-status block
as an object: parsing costs about ten times a message's size in long lines and 30 to 65 times in
short lines, headers or parts (an 8 MiB message peaked near 90 MiB). The readers look at the
first parts (RFC 3464 §2 and RFC 5965 §2 put the notice and the machine-readable part before the
returned original) and at the original's header fields, so the trimmed copy keeps, in order,
every MIME entity's header block and the start of its body, and the boundary lines between:

- a header block keeps at most 100 KiB of whole lines (Postfix's ``header_size_limit``, 102400:
  "if a header is larger, the excess is discarded");
- a body segment (a preamble, a part, an epilogue) keeps its first 256 KiB;
- at most 200 entities (``mime.walk`` looks at no more), multiparts nested 20 deep, and 1 MiB
  and 20,000 lines in all: what comes after is dropped.

A message within these bounds comes back as it came (the same object), so the readers see
exactly what they saw before. Entities are found as the email package finds them: a header
block ends at a blank line or at the first line that is no header field (``feedparser.headerRE``),
a body at a line that is one of the open multiparts' boundaries (RFC 2046 §5.1.1). Pure.
"""

from __future__ import annotations

import email.parser
import email.policy
import re
from dataclasses import dataclass
from itertools import islice

MAX_HEADER_BLOCK = 100 * 1024
MAX_SEGMENT = 256 * 1024
MAX_ENTITIES = 200
MAX_DEPTH = 20
MAX_BYTES = 1024 * 1024
MAX_LINES = 20_000

_HEADER_LINE = re.compile(rb"From |[\041-\071\073-\176]*:|[\t ]")  # email.feedparser.headerRE, on bytes
_LINE_END = re.compile(rb"\r\n|\r|\n")
# the end of a header block: a line end followed by a line that is no header field (a blank one included)
_FIELDS_END = re.compile(rb"(?:\r\n|\r(?!\n)|\n)(?!From |[\041-\071\073-\176]*:|[\t ])")
_HEADERS = email.parser.BytesHeaderParser(policy=email.policy.compat32)
# a Content-Type field with its continuation lines
_CONTENT_TYPE = re.compile(rb"(?:^|(?<=[\r\n]))content-type:[^\r\n]*(?:(?:\r\n|\r|\n)[\t ][^\r\n]*)*", re.IGNORECASE)


class _Kept:
    """The pieces kept so far and what they may still take."""

    def __init__(self, raw: bytes | bytearray) -> None:
        self.raw = memoryview(raw)  # slices of a view copy nothing until cut to what is kept
        self.pieces: list[bytes] = []
        self.size = self.lines = 0
        self.cut = self.full = False

    def take(self, start: int, stop: int, limit: int | None = None) -> bytes:
        """Keep ``raw[start:stop]``, cut (and closed at a line end) to ``limit`` bytes and to what the totals allow."""
        if limit is not None and stop - start > limit:
            stop, self.cut = start + limit, True
        if stop - start > MAX_BYTES - self.size:
            stop, self.cut, self.full = start + MAX_BYTES - self.size, True, True
        piece = bytes(self.raw[start:stop])
        lines = _count_lines(piece)
        if self.lines + lines > MAX_LINES:
            keep = MAX_LINES - self.lines
            last = next(islice(_LINE_END.finditer(piece), keep - 1, None)) if keep else None
            piece, lines, self.cut, self.full = piece[: last.end()] if last else b"", keep, True, True
        if self.cut and piece and not piece.endswith((b"\n", b"\r")):
            piece += b"\n"  # a cut line is closed, so a boundary after it stays a line of its own
        self.pieces.append(piece)
        self.size += len(piece)
        self.lines += lines
        return piece


@dataclass(frozen=True, slots=True)
class _Multipart:
    boundary: bytes
    digest: bool  # RFC 2046 §5.1.5: a digest's parts are messages unless they say otherwise


def trim_message(raw: bytes | bytearray) -> bytes | bytearray:
    """``raw`` within the bounds above; ``raw`` itself when nothing had to go."""
    kept, open_parts, entities, pos, end = _Kept(raw), list[_Multipart](), 1, 0, len(raw)
    expect_headers = True
    while pos < end and not kept.full:
        if expect_headers:
            pos, kind = _header_block(kept, pos, open_parts[-1].digest if open_parts else False)
            if isinstance(kind, _Multipart) and len(open_parts) >= MAX_DEPTH:
                kind = None  # nested past the limit: its parts are dropped up to the next boundary open here
                found = _next_boundary(raw, pos, open_parts)
                pos, kept.cut = (found.start() if found else end), True
            elif isinstance(kind, _Multipart):
                open_parts.append(kind)
            elif kind is _NESTED:  # message/rfc822 and kin: the body is a message with header fields of its own
                entities += 1
                if entities > MAX_ENTITIES:
                    kept.cut = True
                    break
                continue
            expect_headers = False
        found = _next_boundary(raw, pos, open_parts)
        start = found.start() if found else end
        if start > pos:
            kept.take(pos, start, MAX_SEGMENT)
        if found is None or kept.full:
            break
        opens = not found.group(2)  # "--boundary--" closes the multipart; its epilogue is a body segment
        if opens and entities == MAX_ENTITIES:
            kept.cut = True
            break
        kept.take(start, found.end())
        pos = found.end()
        closed = [part.boundary for part in open_parts].index(found.group(1))
        del open_parts[closed + (1 if opens else 0) :]  # an outer boundary ends the parts inside it, as in feedparser
        entities += opens
        expect_headers = opens
    return b"".join(kept.pieces) if kept.cut else raw


_NESTED = object()


def _header_block(kept: _Kept, pos: int, in_digest: bool) -> tuple[int, _Multipart | object | None]:
    """Keeps the header block at ``pos``: the position after it, and what its body is: a multipart,
    a nested message (``_NESTED``) or a leaf (None)."""
    raw = kept.raw.obj
    if _HEADER_LINE.match(raw, pos):
        found = _FIELDS_END.search(raw, pos)
        fields_end = found.end() if found else len(kept.raw)
    else:
        fields_end = pos
    blank = _LINE_END.match(raw, fields_end)
    block_end = blank.end() if blank else fields_end
    fields = kept.take(pos, fields_end, MAX_HEADER_BLOCK) if fields_end > pos else b""
    if block_end > fields_end:
        kept.take(fields_end, block_end)
    return block_end, _kind(fields, in_digest)


def _kind(fields: bytes, in_digest: bool) -> _Multipart | object | None:
    """What the body after these header fields is, as the email package reads them (``get_boundary``,
    the ``message`` main type, a digest's default)."""
    found = _CONTENT_TYPE.search(fields)  # the first field, as Message.get reads it: parsed alone, it costs little
    headers = _HEADERS.parsebytes(found.group() + b"\n" if found else b"\n")
    if in_digest and headers.get("content-type") is None:
        return _NESTED
    maintype = headers.get_content_maintype()
    if maintype == "message":
        return _NESTED if headers.get_content_type() != "message/delivery-status" else None
    boundary = headers.get_boundary() if maintype == "multipart" else None
    try:
        encoded = boundary.encode("ascii", "surrogateescape") if boundary else None
    except UnicodeEncodeError:  # RFC 2231 decoded it past ASCII: no line of the message can match it
        return None
    return _Multipart(encoded, headers.get_content_type() == "multipart/digest") if encoded else None


def _next_boundary(raw: bytes | bytearray, pos: int, open_parts: list[_Multipart]) -> re.Match[bytes] | None:
    """The next line that is "--" and an open boundary, "--" after it when it closes (RFC 2046 §5.1.1)."""
    if not open_parts:
        return None
    names = b"|".join(re.escape(part.boundary) for part in reversed(open_parts))
    # the literal "--" first lets the regex engine skip ahead; the look-behind then asks for a line start
    line = re.compile(rb"--(?<=[\r\n]--)(" + names + rb")(--)?[ \t]*(?:\r\n|\r|\n|\Z)")
    at_start = re.compile(rb"--(" + names + rb")(--)?[ \t]*(?:\r\n|\r|\n|\Z)").match(raw) if pos == 0 else None
    return at_start or line.search(raw, pos)


def _count_lines(piece: bytes) -> int:
    return piece.count(b"\n") + piece.count(b"\r") - piece.count(b"\r\n")
