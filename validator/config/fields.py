"""How a setting is declared (``setting``: its variable, its documentation line, how its default
is shown), and the vocabulary settings share (``SignalEffect``)."""

from __future__ import annotations

from dataclasses import MISSING, field
from enum import StrEnum
from typing import Any


class SignalEffect(StrEnum):
    """What a risk signal does to a verdict whose checks otherwise passed."""

    IGNORE = "ignore"  # not even listed in reasons
    INFO = "info"  # listed in reasons; status and action unchanged
    RISKY = "risky"  # status risky, action confirm
    BLOCK = "block"  # status risky, action block


def setting(
    name: str, doc: str, default: Any = MISSING, *, secret: bool = False, shown: str | None = None, **kw: Any
) -> Any:
    """A setting: its variable, its description, how the table shows its default; a ``secret`` one is
    left out of ``repr`` (so out of logs and tracebacks)."""
    meta = {"env": name, "doc": doc, "shown": shown}
    if "default_factory" in kw:
        return field(default_factory=kw.pop("default_factory"), metadata=meta, repr=not secret)
    return field(default=default, metadata=meta, repr=not secret)
