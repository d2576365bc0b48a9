"""What both backends do the same way for jobs, without I/O: ids, cursors, blobs, row shapes.

A chunk's input and its answers are each stored as one compressed blob per chunk (zlib level
1: verdict JSON repeats itself, so a chunk of 1,000 answers shrinks about tenfold), never as
one database row per address: a million-row job is a thousand chunk rows, written once each.
Counts are JSON objects merged in Python, so SQLite and PostgreSQL count identically.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import zlib
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, cast

import orjson

from validator.errors import Conflict, InvalidField
from validator.jobs.model import Counts, InputRow, Job, JobOptions, JobStatus

JOB_COLUMNS = (
    "id, status, options, total, processed, counts, created_by, created_at, started_at, finished_at,"
    " error, callback, owner_key"
)
# What readers see: ``processed`` counts the answered chunks' rows and what runners have noted of
# the chunks they are working (job_chunks.answered), so progress moves per slice.
LIVE_JOB_COLUMNS = JOB_COLUMNS.replace(
    "processed",
    "processed + (SELECT COALESCE(SUM(c.answered), 0) FROM job_chunks c"
    " WHERE c.job_id = jobs.id AND c.results IS NULL)",
    1,
)
MAX_ATTEMPTS = 3  # a chunk claimed this often without completing fails its job (it crashes whoever works it)
JOB_ID = re.compile(r"[0-9a-f]{24}")
_STATUSES = {s.value: s for s in JobStatus}


def upload_gone(job_id: str) -> Conflict:
    """What an upload meets when its ``receiving`` job was removed meanwhile: it outlived
    ``VALIDATOR_JOB_UPLOAD_LEASE_SECONDS`` (taken for abandoned) or an admin deleted it."""
    return Conflict(
        f"job {job_id} was removed while its upload was still arriving (an upload may take at most"
        " VALIDATOR_JOB_UPLOAD_LEASE_SECONDS, or an admin deleted it): upload the list again"
    )


def new_job_id(now: datetime) -> str:
    """24 hex digits: microseconds since the epoch, then 40 random bits. Ids sort by creation."""
    return f"{round(now.timestamp() * 1_000_000):014x}{secrets.token_hex(5)}"


def encode_rows(rows: Sequence[InputRow]) -> bytes:
    return zlib.compress(orjson.dumps([[r.row, r.email, r.error, r.duplicate_of, r.cell] for r in rows]), 1)


def decode_rows(blob: bytes) -> tuple[InputRow, ...]:
    return tuple(InputRow(*item) for item in orjson.loads(zlib.decompress(blob)))


def encode_lines(lines: Sequence[bytes]) -> bytes:
    return zlib.compress(b"".join(lines), 1)


def decode_lines(blob: bytes) -> bytes:
    return zlib.decompress(blob)


# Jobs whose options name a callback URL (the encoding below writes "callback_url":null otherwise).
HAS_CALLBACK = """options NOT LIKE '%"callback_url":null%'"""
RESENDING = "resending"


def encode_options(options: JobOptions) -> str:
    return orjson.dumps({"smtp": options.smtp, "dedupe": options.dedupe, "callback_url": options.callback_url}).decode()


def decode_options(text: str) -> JobOptions:
    return JobOptions(**orjson.loads(text))


def encode_counts(counts: Counts) -> str:
    return orjson.dumps({"statuses": counts.statuses, "reasons": counts.reasons}).decode()


def decode_counts(text: str) -> Counts:
    data = orjson.loads(text)
    return Counts(data.get("statuses", {}), data.get("reasons", {}))


def job_of(row: Sequence[Any], moment: Callable[[Any], datetime | None]) -> Job:
    """A ``Job`` from a row of ``JOB_COLUMNS``; ``moment`` converts the backend's timestamps."""
    return Job(
        row[0],
        _STATUSES[row[1]],
        decode_options(row[2]),
        row[3],
        row[4],
        decode_counts(row[5]),
        row[6],
        cast(datetime, moment(row[7])),  # created_at is NOT NULL
        moment(row[8]),
        moment(row[9]),
        row[10],
        row[11],
        row[12],
    )


def encode_cursor(last_id: str) -> str:
    return base64.urlsafe_b64encode(f"j1:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    """The id the list continues after (ids descend: newest first); None from the start."""
    if not cursor:
        return None
    try:
        tag, _, last = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().partition(":")
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidField("cursor is not one this service returned", field="cursor") from exc
    if tag != "j1" or not JOB_ID.fullmatch(last):
        raise InvalidField("cursor is not one this service returned", field="cursor")
    return last


def after_chunk(job: Job, rows: int, counts: Counts, now: datetime) -> tuple[int, Counts, JobStatus, datetime | None]:
    """The job's processed, counts, status and finish time once a chunk of ``rows`` completed."""
    processed = job.processed + rows
    done = processed >= job.total
    return processed, job.counts.plus(counts), JobStatus.COMPLETED if done else JobStatus.RUNNING, now if done else None
