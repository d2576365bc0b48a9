"""The vocabulary of API keys: a stored key (never its token) and the scope words of publishable keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class ApiKey:
    """An API key as stored: never the token, only a hash of its secret (kept by the store).

    A publishable key (token ``pk_...``, safe to put in a web page) holds the scope ``publishable``
    and one ``origin:<scheme://host[:port]>`` word per page origin it may be used from; the
    words travel with the other scopes, so both stores keep them without a column of their own.
    """

    id: str  # the public key id, also part of the token: vk_<id>_<secret>
    name: str
    scopes: frozenset[str]
    created_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None  # updated at most about once a minute

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def publishable(self) -> bool:
        return PUBLISHABLE in self.scopes

    @property
    def origins(self) -> frozenset[str]:
        return frozenset(s[len(ORIGIN_PREFIX) :] for s in self.scopes if s.startswith(ORIGIN_PREFIX))


PUBLISHABLE = "publishable"  # the scope of keys that may only ask POST /v1/validate, from listed origins
ORIGIN_PREFIX = "origin:"
