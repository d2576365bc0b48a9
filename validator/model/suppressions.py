"""The vocabulary of the suppression list: entries, their audit trail, bulk write counts.

What ``validator.store`` keeps. Keys are normalized by the caller, never by the store, which
only stores and compares them:
  address key = local_part.lower() + "@" + ascii_domain.lower()  (suppressing more is the safe
                side; no Gmail dot or plus-tag folding)
  domain key  = ascii_domain.lower()
Every datetime is timezone-aware UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class SuppressionKind(StrEnum):
    """Whether an entry suppresses one address or every address of a domain."""

    ADDRESS = "address"
    DOMAIN = "domain"


class SuppressionReason(StrEnum):
    """Why an address or domain must not be sent to."""

    HARD_BOUNCE = "hard_bounce"  # a permanent failure (5.x.x) was seen
    CHRONIC_SOFT_BOUNCE = "chronic_soft_bounce"  # transient failures (4.x.x) that never cleared
    COMPLAINT = "complaint"  # the recipient marked a message as spam (feedback loop)
    UNSUBSCRIBE = "unsubscribe"
    MANUAL = "manual"  # an operator added it


# Entries that predict a bounce. The others record a person's choice (unsubscribe, complaint) or an
# operator's: they say "do not send", not "this address will bounce", and are not a web page's business.
BOUNCE_REASONS = frozenset({SuppressionReason.HARD_BOUNCE, SuppressionReason.CHRONIC_SOFT_BOUNCE})


@dataclass(frozen=True, slots=True)
class SuppressionEntry:
    """What a caller asks the store to keep; the store adds the timestamps."""

    kind: SuppressionKind
    value: str  # the normalized key (see above)
    reason: SuppressionReason
    source: str  # who reported it: "api", "import", "bounce:<platform>", ...
    detail: str | None = None  # e.g. the SMTP reply that caused it
    expires_at: datetime | None = None  # None: never expires


@dataclass(frozen=True, slots=True)
class Suppression:
    """An entry as the store holds it. An expired entry is never returned by a lookup."""

    kind: SuppressionKind
    value: str
    reason: SuppressionReason
    source: str
    detail: str | None
    created_at: datetime  # when it took effect (re-suppressing after expiry counts as new)
    updated_at: datetime  # last change of reason, source, detail or expires_at
    expires_at: datetime | None = None

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


class AuditAction(StrEnum):
    """What a change did to a suppression entry."""

    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One change of one entry: who (actor: API key or CLI user), when, why, and what changed.

    ``before``/``after`` summarise the entry (reason, source, detail, expires_at as ISO 8601):
    ``before`` is None for a creation of a new key, ``after`` None for a deletion.
    """

    id: int
    kind: SuppressionKind
    value: str
    action: AuditAction
    actor: str
    at: datetime
    why: str | None
    before: Mapping[str, str | None] | None
    after: Mapping[str, str | None] | None


@dataclass(frozen=True, slots=True)
class BulkResult:
    """Counts of one bulk write. ``added + updated + unchanged`` is the number of entries given."""

    added: int  # keys that were absent (or expired) and are now suppressed
    updated: int  # live keys whose reason, source, detail or expires_at changed
    unchanged: int  # identical to what was stored, or repeated later in the same call
