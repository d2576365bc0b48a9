"""Addresses in the text of a report (its notice, a header, a status field), found in time linear in it.

Kept apart from ``mime`` (the parts of a message): what counts as an address in prose changes with
RFC 5321's bounds and hostile inputs, not with how a message is walked. Pure.
"""

from __future__ import annotations

import re

# One address as it appears in prose or in a header ("<x@example.org>", "x@example.org:").
# Bounded as RFC 5321 §4.5.3.1 bounds them (local part 64, label 63 octets): unbounded runs made the search quadratic.
# An address glued to a control character is the tail of a longer token the character broke
# ("a<NUL>b@example.com" must not become b@example.com): RFC 5322 §3.5 text holds no NUL, and no
# MTA writes other C0 controls next to an address. Quoted local parts hold none either.
ADDRESS = re.compile(
    r"(?<![\x00-\x08\x0b\x0c\x0e-\x1f\x7fA-Za-z0-9.!#$%&'*+/=?^_`{|}~-])"  # and never from mid-token
    r"(?:\"[^\"\x00-\x1f\x7f@<>]{1,64}\"|[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64})"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,20}[A-Za-z]{2,63}\b"
    r"(?![\x00-\x08\x0b\x0c\x0e-\x1f\x7f])"
)


def addresses_in(text: str) -> list[str]:
    """Every address in a text, in order, without repeats (case-insensitively)."""
    seen: dict[str, str] = {}
    for match in ADDRESS.finditer(text):
        address = match.group(0).strip(".")
        seen.setdefault(address.casefold(), address)
    return list(seen.values())


def first_address(text: str) -> str | None:
    found = addresses_in(text)
    return found[0] if found else None
