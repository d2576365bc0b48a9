"""Wire shapes of bulk jobs: the submit query, job JSON, result lines (NDJSON) and CSV rows.

Pure functions of strings and values (no aiohttp). A result line is the verdict of
``wire.verdict_json`` with the row's number first: ``{"row": 7, "email": ..., "status": ...}``;
``input`` holds the original cell when the address was taken out of ``Name <addr>``, and a
duplicate row (``dedupe``) is ``{"row": 9, "email": ..., "duplicate_of": 7}`` only.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import orjson

from validator.config import Settings
from validator.errors import InvalidField, UnknownField
from validator.jobs.callback_guard import check_callback_url
from validator.jobs.model import InputRow, Job, JobOptions, JobStatus
from validator.jobs.sources import CsvChoice, JsonRows
from validator.jobs.upload import RowSource
from validator.model import Verdict
from validator.store.records import PAGE_MAX
from validator.wire.csv_records import to_spreadsheet
from validator.wire.validation import iso_time, parse_limit, verdict_json

COLUMN_INDEX = re.compile(r"[0-9]{1,4}")
SUBMIT_PARAMETERS = frozenset({"smtp", "dedupe", "callback_url", "column", "column_index", "header"})
CSV_COLUMNS = (
    "row",
    "input",
    "email",
    "normalized",
    "status",
    "action",
    "reasons",
    "suggestion",
    "syntax_problem",
    "mx_outcome",
    "suppression_reason",
    "duplicate_of",
)


@dataclass(frozen=True, slots=True)
class SubmitQuery:
    options: JobOptions
    csv: CsvChoice


def _only(query: Mapping[str, str], allowed: frozenset[str]) -> None:
    """Refuse unknown and repeated query parameters (a repeat would be silently ignored)."""
    names = list(query.keys())
    unknown = sorted(set(names) - allowed)
    if unknown:
        raise UnknownField(f"unknown query parameter {unknown[0]!r}", field=unknown[0])
    if len(names) != len(set(names)):
        name = next(n for n in names if names.count(n) > 1)
        raise InvalidField("given more than once", field=name)


def _flag(query: Mapping[str, str], name: str) -> bool:
    value = query.get(name, "false")
    if value not in ("true", "false", "1", "0"):  # as openapi.yaml lists them
        raise InvalidField("must be true or false", field=name)
    return value in ("true", "1")


def parse_submit_query(query: Mapping[str, str], settings: Settings) -> SubmitQuery:
    """``?smtp=&dedupe=&callback_url=&column=&column_index=&header=true|false``."""
    _only(query, SUBMIT_PARAMETERS)
    index = query.get("column_index")
    if index is not None and not COLUMN_INDEX.fullmatch(index):  # never int() of 5,000 digits, nor of "²"
        raise InvalidField("must be a column number from 0 to 9999", field="column_index")
    header = query.get("header")
    if header is not None and header not in ("true", "false"):
        raise InvalidField("must be true or false", field="header")
    callback = query.get("callback_url")
    options = JobOptions(
        _flag(query, "smtp"),
        _flag(query, "dedupe"),
        check_callback_url(callback, settings.job_callback_allow) if callback else None,
    )
    choice = CsvChoice(
        query.get("column") or None,
        int(index) if index is not None else None,
        None if header is None else header == "true",
    )
    return SubmitQuery(options, choice)


def final_options(options: JobOptions, source: RowSource, settings: Settings) -> JobOptions:
    """The query's options overlaid with those a JSON body carried."""
    if not isinstance(source, JsonRows) or not source.options:
        return options
    given = dict(source.options)
    if "callback_url" in given:  # "" means none, as in the query string
        url = given["callback_url"]
        given["callback_url"] = check_callback_url(url, settings.job_callback_allow) if url else None
    return replace(options, **given)


def job_json(job: Job, now: datetime) -> dict[str, Any]:
    rate = eta = None
    if job.started_at is not None and job.processed:
        seconds = ((job.finished_at or now) - job.started_at).total_seconds()
        rate = round(job.processed / seconds, 1) if seconds > 0 else None
        if rate and not job.status.finished:
            eta = round((job.total - job.processed) / rate, 1)
    return {
        "id": job.id,
        "status": job.status.value,
        "total": job.total,
        "processed": job.processed,
        "counts": {"statuses": dict(job.counts.statuses), "reasons": dict(job.counts.reasons)},
        "options": {"smtp": job.options.smtp, "dedupe": job.options.dedupe, "callback_url": job.options.callback_url},
        "created_by": job.created_by,
        "created_at": iso_time(job.created_at),
        "started_at": iso_time(job.started_at),
        "finished_at": iso_time(job.finished_at),
        "rate_per_second": rate,
        "eta_seconds": eta,
        "error": job.error,
        "callback": job.callback,
        "links": {"self": f"/v1/jobs/{job.id}", "results": f"/v1/jobs/{job.id}/results"},
    }


def result_line(row: InputRow, verdict: Verdict | None) -> bytes:
    """One NDJSON line of a job's results (the runner's ``render``)."""
    head: dict[str, Any] = {"row": row.row}
    if row.cell is not None:
        head["input"] = row.cell
    if verdict is None:
        return orjson.dumps({**head, "email": row.email, "duplicate_of": row.duplicate_of}) + b"\n"
    return orjson.dumps({**head, **verdict_json(verdict)}) + b"\n"


def csv_header() -> bytes:
    return (",".join(CSV_COLUMNS) + "\r\n").encode()


def csv_rows(ndjson: bytes) -> bytes:
    """NDJSON result lines as CSV rows (``CSV_COLUMNS``; reasons joined with ``;``)."""
    out = io.StringIO()
    writer = csv.writer(out)
    for line in ndjson.splitlines():
        r = orjson.loads(line)
        checks = r.get("checks") or {}
        dns, suppression, syntax = checks.get("dns"), checks.get("suppression"), checks.get("syntax")
        cells = [
            r.get("input", ""),
            r["email"],
            r.get("normalized") or "",
            r.get("status", ""),
            r.get("action", ""),
            ";".join(r.get("reasons", ())),
            r.get("suggestion") or "",
            (syntax or {}).get("problem") or "",
            dns["outcome"] if dns else "",
            suppression["reason"] if suppression else "",
        ]
        writer.writerow([r["row"], *map(to_spreadsheet, cells), r.get("duplicate_of") or ""])
    return out.getvalue().encode()


def parse_list_query(query: Mapping[str, str]) -> tuple[str | None, int, JobStatus | None]:
    """Cursor, limit and status (``receiving``: uploads not yet accepted, e.g. left by a dead process)."""
    _only(query, frozenset({"cursor", "limit", "status"}))
    status = query.get("status")
    try:
        wanted = None if status is None else JobStatus(status)
    except ValueError:
        raise InvalidField(f"must be one of {', '.join(s.value for s in JobStatus)}", field="status") from None
    return query.get("cursor") or None, parse_limit(query, PAGE_MAX), wanted


def results_format(query: Mapping[str, str], accept: str) -> str:
    """``ndjson`` or ``csv``: ``?format=`` first, then ``Accept: text/csv``."""
    _only(query, frozenset({"format"}))
    fmt = query.get("format", "csv" if "text/csv" in accept else "ndjson")  # given empty: refused below
    if fmt not in ("ndjson", "csv"):
        raise InvalidField("must be ndjson or csv", field="format")
    return fmt
