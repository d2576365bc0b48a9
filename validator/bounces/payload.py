"""Tolerant reading of provider JSON: a missing or mistyped field is None, never an exception.

Providers add, drop and retype fields without notice (SendGrid ``blocked`` events arrive
without ``status``: Discourse's handler crashed on that). Once a payload's signature is
verified, the provider is trusted to be the provider, not to be tidy: these getters take what
is usable and leave the rest. A recipient that cannot be an address (not a string, too long,
CR/LF/NUL: header injection into later SMTP or logs) is refused here and reported as skipped.
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import UTC, datetime
from typing import Any

from validator.bounces.facts import BounceFact
from validator.suppressions.keys import MAX_DETAIL

MAX_TEXT = 1024  # ids, addresses, names; the same bound as the JSON wire's addresses
_FORBIDDEN = ("\r", "\n", "\x00")


def obj(value: Any, key: str) -> dict[str, Any]:
    """``value[key]`` when both are JSON objects; else an empty object."""
    found = value.get(key) if isinstance(value, dict) else None
    return found if isinstance(found, dict) else {}


def items(value: Any, key: str) -> list[Any]:
    found = value.get(key) if isinstance(value, dict) else None
    return found if isinstance(found, list) else []


def ident(value: Any, key: str) -> str | None:
    """A one-line identifier (an id, a name, a label); numbers are read as their text."""
    found = value.get(key) if isinstance(value, dict) else None
    if isinstance(found, int | float) and not isinstance(found, bool):
        found = str(found)
    if not isinstance(found, str) or not found.strip() or len(found) > MAX_TEXT:
        return None
    return None if any(c in found for c in _FORBIDDEN) else found.strip()


def text(value: Any, key: str) -> str | None:
    """Free text (a diagnostic: multi-line replies are real); NUL removed, bounded."""
    found = value.get(key) if isinstance(value, dict) else None
    if not isinstance(found, str) or not found.strip():
        return None
    return found.replace("\x00", "")[:MAX_DETAIL]


def address(value: Any) -> str | None:
    """A recipient as found, or None when it cannot be an address at all."""
    if not isinstance(value, str) or "@" not in value or len(value) > MAX_TEXT:
        return None
    found = value.strip()
    return None if not found or any(c in found for c in _FORBIDDEN) else found


def flag(value: Any, key: str) -> bool:
    return isinstance(value, dict) and value.get(key) is True


def iso_time(value: Any, key: str) -> datetime | None:
    """``2016-10-21T00:06:40.502Z`` (SES), ``2019-11-05T16:33:54.9070259Z`` (Postmark): UTC, or None."""
    found = ident(value, key)
    if found is None:
        return None
    try:
        moment = datetime.fromisoformat(found.replace("Z", "+00:00").replace("z", "+00:00"))
        return moment.astimezone(UTC) if moment.tzinfo is not None else None
    except (ValueError, OverflowError):  # OverflowError: an offset pushing it past year 1 or 9999 in UTC
        return None


def epoch_time(value: Any, key: str) -> datetime | None:
    """Seconds since 1970 (SendGrid ``timestamp``, Mailgun ``timestamp``), int, float or text: UTC, or None."""
    found = value.get(key) if isinstance(value, dict) else None
    if isinstance(found, str):
        try:
            found = float(found)
        except ValueError:
            return None
    if not isinstance(found, int | float) or isinstance(found, bool):
        return None
    try:
        return datetime.fromtimestamp(found, UTC)
    except (ValueError, OverflowError, OSError):
        return None


def records(value: Any, key: str) -> list[dict[str, Any]]:
    """``value[key]`` as a list of objects; an element that is not an object reads as an empty one."""
    return [item if isinstance(item, dict) else {} for item in items(value, key)]


def each_event(
    payload: Any,
    kind_of: Callable[[dict[str, Any]], str | None],
    recipient_key: str,
    read_one: Callable[[str | None, str, dict[str, Any]], BounceFact | None],
    noted: Collection[str],
    noted_names: str,
) -> tuple[list[BounceFact], list[str]]:
    """The facts of a list of flat events (a lone object is a list of one): SendGrid's, Mailjet's.

    Events whose kind is in ``noted`` (opens, clicks) are counted in one note; one without a usable
    recipient, or of a kind ``read_one`` does not know (None), is skipped with a note of its own.
    """
    facts: list[BounceFact] = []
    notes: list[str] = []
    count = 0
    for i, event in enumerate(payload if isinstance(payload, list) else [payload]):
        event = event if isinstance(event, dict) else {}
        kind = kind_of(event)
        if kind in noted:
            count += 1
            continue
        recipient = address(event.get(recipient_key))
        if recipient is None:
            notes.append(f"events[{i}]: no usable {recipient_key}; skipped")
            continue
        fact = read_one(kind, recipient, event)
        if fact is None:
            notes.append(f"events[{i}]: event {kind!r} is not one this reader knows; skipped")
        else:
            facts.append(fact)
    if count:
        notes.append(f"{count} {noted_names} event(s): nothing to learn about recipients")
    return facts, notes
