"""Parsing SMTP replies: a server reply (live, or quoted in a DSN ``Diagnostic-Code``) into a ``Reply``:
basic code (RFC 5321 §4.2), enhanced code (RFC 3463) and the text without codes. Pure and total:
no input makes it raise."""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_INPUT = 65_536  # RFC 5321 §4.5.3.1.5 limits a reply line to 512 octets; bound the regex work


@dataclass(frozen=True, slots=True)
class Reply:
    """An SMTP reply: ``code`` is None when no basic code was found (then the class is unknown)."""

    code: int | None
    enhanced: str | None  # "5.1.1": class 2/4/5, subject and detail of 1-3 digits (RFC 3463 §2)
    text: str  # the text of every line, codes removed, whitespace collapsed


# --- parsing ----------------------------------------------------------------------------------

_LINE = re.compile(r"([2-5][0-5]\d)(?:([ -])(.*))?", re.DOTALL)  # RFC 5321 §4.2: code, " " or "-", text
_ENHANCED = re.compile(r"(?<![\d.])[#(\[]?([245]\.\d{1,3}\.\d{1,3})(?![\d.])[)\]]?")  # "#5.1.1", "(5.2.2)"
_LEADING_ENHANCED = re.compile(r"[#(\[]?([245]\.\d{1,3}\.\d{1,3})[)\]]?(?![\d.])[\s:-]*")
_CODE_ANYWHERE = re.compile(r"(?:^|(?<=[\s;:'\"(\[<]))([2-5][0-5]\d)(?=[\s-]|$)")
_PREFIXES = (
    re.compile(r"(?:diagnostic-code|remote-mta|status)\s*:\s*", re.IGNORECASE),  # DSN field names left in
    re.compile(r"([a-z][\w.-]{0,30})\s*;\s*", re.IGNORECASE),  # RFC 3464 §2.3.6 diagnostic-type: "smtp; 550 ..."
    # Postfix: "host mx.example.org[192.0.2.24] said: 550 5.1.1 <x>: Recipient address rejected: ..."
    re.compile(r"[\w .\[\]:-]{0,120}?\bsaid:\s*", re.IGNORECASE),
)
# Postfix appends "(in reply to RCPT TO command)" after the quoted reply
_IN_REPLY_TO = re.compile(r"\s*\(in reply to [^)]*\)\s*$", re.IGNORECASE)


def parse_reply(text: str) -> Reply:
    """Parse one reply, single- or multi-line, bare or quoted in a DSN; never raises."""
    if not isinstance(text, str):
        return Reply(None, None, "")
    lines = [line.strip() for line in text[:MAX_INPUT].splitlines() if line.strip()]
    if not lines:
        return Reply(None, None, "")
    first, diagnostic_type = _strip_prefixes(lines[0])
    if diagnostic_type == "x-unix":  # RFC 3464: an X-Unix diagnostic is an exit status ("X-Unix; 77")
        return Reply(None, None, _squash(" ".join([first, *lines[1:]])))
    lines[0] = first
    head = _LINE.fullmatch(first)
    if head is not None:
        return _parse_lines(int(head.group(1)), lines)
    return _parse_loose(_squash(" ".join(lines)))


def _strip_prefixes(line: str) -> tuple[str, str | None]:
    diagnostic_type = None
    for pattern in _PREFIXES:
        match = pattern.match(line)
        if match is not None and not _LINE.fullmatch(line):
            if pattern.groups:
                diagnostic_type = match.group(1).lower()
            line = line[match.end() :]
    return line, diagnostic_type


def _parse_lines(code: int, lines: list[str]) -> Reply:
    """``250-first`` ... ``250 last``; lines without the code are folded header continuations."""
    enhanced: str | None = None
    pieces = []
    for line in lines:
        match = _LINE.fullmatch(line)
        if match is not None and int(match.group(1)) == code:
            line = match.group(3) or ""
        lead = _LEADING_ENHANCED.match(line)
        if lead is not None:
            enhanced = enhanced or lead.group(1)
            line = line[lead.end() :]
        pieces.append(line)
    return Reply(code, enhanced, _clean(" ".join(pieces), code))


def _parse_loose(text: str) -> Reply:
    """A code inside prose, or only an enhanced code ("#5.1.1"): the reply is what follows the code.

    Amazon SES: "5.1.0 - Unknown address error 550-'5.7.1 <x>... Access denied'": the words before
    550 are SES's label for its own status, the remote server's reply starts at 550.
    """
    found = _CODE_ANYWHERE.search(text)
    if found is not None:
        rest = text[found.end() :].lstrip(" -'\"")
        lead = _LEADING_ENHANCED.match(rest)
        enhanced = lead or _ENHANCED.search(text)
        return Reply(int(found.group(1)), enhanced.group(1) if enhanced else None, _clean(rest, None))
    enhanced = _ENHANCED.search(text)
    if enhanced is not None:
        text = text[: enhanced.start()] + text[enhanced.end() :]
    return Reply(None, enhanced.group(1) if enhanced else None, _clean(text, None))


def _clean(text: str, code: int | None) -> str:
    if code is not None:  # Gmail's lines folded into one DSN field: "... Please try 550-5.1.1 double-checking"
        text = re.sub(
            rf"(?<!\S){code}(?:-(?:[245]\.\d{{1,3}}\.\d{{1,3}}\s)?|\s[245]\.\d{{1,3}}\.\d{{1,3}}\s)", " ", text
        )
    text = _LEADING_ENHANCED.sub("", text.strip(), count=1) if _LEADING_ENHANCED.match(text.strip()) else text
    return _IN_REPLY_TO.sub("", _squash(text)).strip()


def _squash(text: str) -> str:
    return " ".join(text.split())


# --- classifying ------------------------------------------------------------------------------
# Each pattern is matched against the case-folded text. The comment quotes a reply it was written for.
