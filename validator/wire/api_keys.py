"""Wire shapes of API keys: the scopes a key may hold, and the words a new key is stored with."""

from __future__ import annotations

from collections.abc import Sequence

from validator.errors import InvalidField, MissingField
from validator.model import ORIGIN_PREFIX, PUBLISHABLE

SCOPES = ("validate", "suppressions:read", "suppressions:write", "events:write", "reports:read", "jobs", "admin")


def requested_scopes(scopes: Sequence[str], origins: Sequence[str]) -> list[str]:
    """The words stored for a new key: its scopes and, for a publishable key, its origins (the
    store checks the combination and normalises the origins)."""
    if not scopes:
        raise MissingField("a key needs at least one scope", field="scopes")
    unknown = [s for s in scopes if s not in SCOPES and s != PUBLISHABLE]
    if unknown:
        raise InvalidField(f"unknown scope {unknown[0]!r}; one of {', '.join((*SCOPES, PUBLISHABLE))}", field="scopes")
    return [*scopes, *(ORIGIN_PREFIX + origin for origin in origins)]
