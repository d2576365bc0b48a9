"""Streaming a suppression import into the store: shared by the API and the CLI.

Rows arrive in small lists as the input is read (a network chunk, a file line), are written
``BULK_BATCH`` at a time, one transaction each, so neither a million-row upload nor its
result sits in memory. Invalid rows are handed to ``on_invalid`` as they are met. An error
part-way (the store going away) leaves the batches before it committed, so its message says
how many rows were written and through which line.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass

from validator.errors import ValidatorError
from validator.model import SuppressionEntry
from validator.store.protocols import SuppressionStore
from validator.store.records import BULK_BATCH
from validator.suppressions.keys import ImportRow


@dataclass(slots=True)
class ImportTotals:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    invalid: int = 0


async def import_rows(
    store: SuppressionStore,
    chunks: AsyncIterable[list[ImportRow]],
    *,
    actor: str,
    why: str | None,
    on_invalid: Callable[[ImportRow], None],
) -> ImportTotals:
    totals = ImportTotals()
    batch: list[SuppressionEntry] = []
    line = written_through = 0

    async def flush() -> None:
        nonlocal written_through
        result = await store.put_suppressions_bulk(batch, actor=actor, why=why)
        totals.added += result.added
        totals.updated += result.updated
        totals.unchanged += result.unchanged
        batch.clear()
        written_through = line

    try:
        async for rows in chunks:
            for row in rows:
                line = row.line
                if row.entry is None:
                    totals.invalid += 1
                    on_invalid(row)
                else:
                    batch.append(row.entry)
            if len(batch) >= BULK_BATCH:
                await flush()
        if batch:
            await flush()
    except ValidatorError as exc:
        written = totals.added + totals.updated + totals.unchanged
        exc.message += (
            f" (before this, {written:,} rows through line {written_through:,} were written: "
            f"{totals.added:,} added, {totals.updated:,} updated, {totals.unchanged:,} unchanged)"
            if written
            else " (no row was written)"
        )
        raise
    return totals
