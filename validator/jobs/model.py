"""The vocabulary of bulk validation jobs: statuses, options, input rows, claims, counts.

Frozen values only, like ``model.py`` (kept in a file of its own so that the jobs work merges
without touching the shared vocabulary). No I/O, no other ``validator`` module but ``model``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class JobStatus(StrEnum):
    """Where a job is. ``receiving`` is internal: the upload is still streaming in, and the job
    is neither listed nor worked until it is accepted (``queued``)."""

    RECEIVING = "receiving"
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED)


@dataclass(frozen=True, slots=True)
class JobOptions:
    """What the submitter asked for. ``smtp`` is stored and handed to the checker as is."""

    smtp: bool = False
    dedupe: bool = False
    callback_url: str | None = None


@dataclass(frozen=True, slots=True)
class InputRow:
    """One row of the input. ``row`` is 1-based: the line of a CSV or NDJSON file, the position
    in a JSON array. ``error`` set: the row is answered ``invalid_syntax`` without a check.
    ``cell`` is the original cell when ``email`` was taken out of it (``Name <addr>``)."""

    row: int
    email: str
    error: str | None = None
    duplicate_of: int | None = None
    cell: str | None = None


@dataclass(frozen=True, slots=True)
class Counts:
    """Answers so far, by status and by reason (a verdict with two reasons counts in both)."""

    statuses: Mapping[str, int] = field(default_factory=dict)
    reasons: Mapping[str, int] = field(default_factory=dict)

    def plus(self, other: Counts) -> Counts:
        return Counts(_add(self.statuses, other.statuses), _add(self.reasons, other.reasons))


def _add(a: Mapping[str, int], b: Mapping[str, int]) -> dict[str, int]:
    total = dict(a)
    for key, n in b.items():
        total[key] = total.get(key, 0) + n
    return total


@dataclass(frozen=True, slots=True)
class Job:
    """A job as the store holds it."""

    id: str
    status: JobStatus
    options: JobOptions
    total: int
    processed: int
    counts: Counts
    created_by: str
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    callback: str | None = None  # how the completion callback went: "sent 200", "failed: ..."
    owner_key: str | None = None  # the id of the API key that submitted it (None: authentication off)


@dataclass(frozen=True, slots=True)
class ChunkClaim:
    """A chunk leased to one runner: ``owner`` and ``attempt`` must still match when it completes."""

    job_id: str
    chunk_no: int
    owner: str
    attempt: int
    options: JobOptions
    rows: tuple[InputRow, ...]


@dataclass(frozen=True, slots=True)
class ChunkAnswer:
    """A worked chunk: one NDJSON line per input row, in input order, and their counts."""

    lines: tuple[bytes, ...]
    counts: Counts
