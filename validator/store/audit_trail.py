"""One key's audit trail, put together from its own audit rows and the import batches that created it.

Both backends read three things and hand them here: the key's ``suppression_audit`` rows in id
order, each with the batch that created the row it changed; the row itself if it exists (even
expired) with its batch; and those batches. An import batch's creation of the key goes just
before the first audit row that names the batch (the first change after it), or last when no
row names it yet (the entry was not changed since). Its ``after`` is what the key held when
created: the ``before`` of that first change, else the row as it is. It has no audit row of its
own, so its ``id`` is 0. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from validator.model import AuditAction, AuditEntry, Suppression, SuppressionKind
from validator.store.records import parse_summary, summarize

BATCH_COLUMNS = "id, actor, at, why"


@dataclass(frozen=True, slots=True)
class ImportBatch:
    """Who imported a batch of entries, when and why (``suppression_batches``)."""

    id: int
    actor: str
    at: datetime
    why: str | None


def merge_trail(
    kind: SuppressionKind,
    value: str,
    changes: Sequence[tuple[AuditEntry, int | None]],
    current: tuple[Suppression, int | None] | None,
    batches: Mapping[int, ImportBatch],
) -> list[AuditEntry]:
    """The trail, oldest first: ``changes`` (audit entries with their batch ids) with each batch's
    creation placed where it happened."""
    trail: list[AuditEntry] = []
    shown: set[int] = set()

    def created(batch_id: int | None, content: Mapping[str, str | None] | None) -> None:
        batch = batches.get(batch_id) if batch_id is not None else None
        if batch is not None and batch.id not in shown:
            shown.add(batch.id)
            trail.append(
                AuditEntry(0, kind, value, AuditAction.CREATED, batch.actor, batch.at, batch.why, None, content)
            )

    for change, batch_id in changes:
        created(batch_id, change.before)
        trail.append(change)
    if current is not None:
        row, batch_id = current
        created(batch_id, parse_summary(summarize(row)))
    return trail


def batch_ids(
    changes: Sequence[tuple[AuditEntry, int | None]], current: tuple[Suppression, int | None] | None
) -> list[int]:
    """The batches a trail names, to read."""
    found = {batch_id for _, batch_id in changes if batch_id is not None}
    if current is not None and current[1] is not None:
        found.add(current[1])
    return sorted(found)
