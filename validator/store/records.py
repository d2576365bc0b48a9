"""What both backends decide the same way, without I/O: write plans, audit summaries, cursors.

A write is planned in Python from the rows it will replace (read in the same transaction),
so SQLite and PostgreSQL count ``added``/``updated``/``unchanged`` and write audit rows
identically:

- absent key, or an expired entry: *added* (``created_at`` restarts; audit ``created``);
- live entry whose reason, source, detail or expires_at differ: *updated* (audit ``updated``);
- live entry identical to the request: *unchanged*, nothing is written, no audit row, so a
  re-import of the same file is a no-op (0 added, 0 updated).

In a bulk import the entries created under new keys get no audit row each: their batch records
them once (``migrations/audit.py``, ``audit_trail.py``).

The SQL dialects and their row conversions live in the backends.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import orjson

from validator.errors import InvalidField
from validator.model import AuditAction, AuditEntry, Suppression, SuppressionEntry, SuppressionKind, SuppressionReason

Key = tuple[str, str]  # (kind, value)

BULK_BATCH = 1000  # entries per transaction in put_suppressions_bulk
PAGE_MAX = 10_000  # largest list page


class WriteOutcome(Enum):
    ADDED = "added"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One audit row to insert; ``before``/``after`` are JSON summaries; ``batch_id``: the import
    batch that created the row it changes, when known here (else the backend reads it)."""

    kind: str
    value: str
    action: str
    actor: str
    at: datetime
    why: str | None
    before: str | None
    after: str | None
    batch_id: int | None = None


@dataclass(slots=True)
class WritePlan:
    """The rows one transaction inserts and updates, its audit rows, and each key's outcome."""

    inserts: list[Suppression] = field(default_factory=list)
    updates: list[Suppression] = field(default_factory=list)
    audit: list[AuditRow] = field(default_factory=list)
    results: dict[Key, tuple[Suppression, WriteOutcome]] = field(default_factory=dict)
    repeats: int = 0  # entries whose key came again later in the same batch


def utc_now() -> datetime:
    return datetime.now(UTC)


def checked(entry: SuppressionEntry) -> SuppressionEntry:
    """Refuse what no backend could store faithfully; normalise ``expires_at`` to UTC."""
    if not entry.value:
        raise InvalidField("an entry needs a value", field="value")
    if entry.expires_at is not None and entry.expires_at.tzinfo is None:
        raise InvalidField("expires_at must carry a time zone", field="expires_at")
    if (
        type(entry.kind) is SuppressionKind
        and type(entry.reason) is SuppressionReason
        and (entry.expires_at is None or entry.expires_at.tzinfo is UTC)
    ):
        return entry  # the usual case, kept cheap: an import checks a million entries
    # A stray kind or reason string raises ValueError here: a programming error, not bad input.
    return replace(
        entry,
        kind=SuppressionKind(entry.kind),
        reason=SuppressionReason(entry.reason),
        expires_at=entry.expires_at and entry.expires_at.astimezone(UTC),
    )


def key_of(item: SuppressionEntry | Suppression) -> Key:
    return (item.kind.value, item.value)


def same_content(stored: Suppression, entry: SuppressionEntry) -> bool:
    return (stored.reason, stored.source, stored.detail, stored.expires_at) == (
        entry.reason,
        entry.source,
        entry.detail,
        entry.expires_at,
    )


def summarize(item: Suppression | SuppressionEntry | None) -> str | None:
    """The audit summary of an entry: its content, without the key or the timestamps."""
    if item is None:
        return None
    expires = item.expires_at.isoformat() if item.expires_at else None
    content = {"reason": item.reason.value, "source": item.source, "detail": item.detail, "expires_at": expires}
    return orjson.dumps(content).decode()  # an import writes one or two per row: orjson is ~5x json here


def parse_summary(text: str | None) -> Mapping[str, str | None] | None:
    return None if text is None else orjson.loads(text)


def plan_puts(
    entries: Sequence[SuppressionEntry],
    stored: Mapping[Key, Suppression],
    *,
    actor: str,
    why: str | None,
    now: datetime,
    bulk: bool = False,
) -> WritePlan:
    """Decide what to write for ``entries`` given the rows ``stored`` under their keys.

    Within one batch the last entry for a key wins; earlier ones count as repeats. ``bulk``: the
    inserts get no audit row (the caller records the batch instead).
    """
    latest: dict[Key, SuppressionEntry] = {}
    for entry in entries:
        latest[key_of(entry)] = entry
    plan = WritePlan(repeats=len(entries) - len(latest))
    for key, entry in latest.items():
        old = stored.get(key)
        live = old is not None and not old.expired(now)
        if old is not None and live and same_content(old, entry):
            plan.results[key] = (old, WriteOutcome.UNCHANGED)
            continue
        created_at = old.created_at if old is not None and live else now
        new = Suppression(
            entry.kind, entry.value, entry.reason, entry.source, entry.detail, created_at, now, entry.expires_at
        )
        (plan.updates if old is not None else plan.inserts).append(new)
        action = AuditAction.UPDATED if live else AuditAction.CREATED
        if old is not None or not bulk:
            plan.audit.append(AuditRow(key[0], key[1], action.value, actor, now, why, summarize(old), summarize(new)))
        plan.results[key] = (new, WriteOutcome.UPDATED if live else WriteOutcome.ADDED)
    return plan


def deletion_audit(
    old: Suppression, *, actor: str, why: str | None, now: datetime, batch_id: int | None = None
) -> AuditRow:
    return AuditRow(
        old.kind.value, old.value, AuditAction.DELETED.value, actor, now, why, summarize(old), None, batch_id
    )


def count(plan: WritePlan) -> tuple[int, int, int]:
    """(added, updated, unchanged) of one planned batch; repeats count as unchanged."""
    outcomes = [outcome for _, outcome in plan.results.values()]
    added = outcomes.count(WriteOutcome.ADDED)
    updated = outcomes.count(WriteOutcome.UPDATED)
    return added, updated, len(outcomes) - added - updated + plan.repeats


def batches(entries: Iterable[SuppressionEntry], size: int = BULK_BATCH) -> Iterator[list[SuppressionEntry]]:
    batch: list[SuppressionEntry] = []
    for entry in entries:
        batch.append(checked(entry))
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def encode_cursor(last_id: int) -> str:
    """An opaque cursor: the list continues after the row with this id."""
    return base64.urlsafe_b64encode(f"s1:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        tag, _, number = text.partition(":")
        if tag != "s1" or not number.isascii() or not number.isdigit() or len(number) > 18:  # a 64-bit row id
            raise ValueError(text)
        return int(number)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidField("cursor is not one this service returned", field="cursor") from exc


def filters(
    kind: SuppressionKind | None, reason: SuppressionReason | None, source: str | None, since: datetime | None
) -> list[tuple[str, str, object]]:
    """The list filters given, as ``(column, operator, value)``; ``since`` compares ``updated_at``."""
    given = [("kind", "=", kind), ("reason", "=", reason), ("source", "=", source), ("updated_at", ">=", since)]
    return [
        (column, op, str(value) if column != "updated_at" else value)
        for column, op, value in given
        if value is not None
    ]


AUDIT_COLUMNS = "id, kind, value, action, actor, at, why, before, after"


def audit_entry(row: Sequence[Any], at: datetime) -> AuditEntry:
    """An ``AuditEntry`` from a row of ``AUDIT_COLUMNS`` (``at`` converted by the backend)."""
    return AuditEntry(
        row[0],
        SuppressionKind(row[1]),
        row[2],
        AuditAction(row[3]),
        row[4],
        at,
        row[6],
        parse_summary(row[7]),
        parse_summary(row[8]),
    )


def checked_limit(limit: int) -> int:
    if not 1 <= limit <= PAGE_MAX:
        raise InvalidField(f"limit must be between 1 and {PAGE_MAX}", field="limit")
    return limit
