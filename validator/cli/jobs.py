"""``validator batch`` (a list checked here, no server) and ``validator jobs ...`` (a remote service).

``batch`` reads the input with the API's own upload parser (``upload.py``), answers it chunk by
chunk with the runner's own ``answer_rows`` and writes the API's own result lines (NDJSON, or
CSV when the output ends in ``.csv``), so a list gives the same rows locally and through a
job. Memory holds one chunk. Progress (rows, rate, ETA) goes to standard error, then a
summary table of statuses and reasons. ``jobs`` drives ``/v1/jobs`` with aiohttp's client.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import IO, Any, BinaryIO

import orjson

from validator import errors
from validator.cli.main import open_input, open_output
from validator.config import Settings
from validator.jobs.model import Counts, InputRow, JobStatus
from validator.jobs.answer import Answered, answer_rows
from validator.jobs.upload import CsvChoice, Upload, source_for
from validator.wire import jobs as jw

READ_BYTES = 1 << 16
CLI_SLICE = 200  # addresses per check_many: as many as DNS queries in flight by default; progress moves per slice
EXTENSIONS = {".csv": "csv", ".txt": "csv", ".ndjson": "ndjson", ".jsonl": "ndjson", ".json": "json"}
CONTENT_TYPES = {"csv": "text/csv", "ndjson": "application/x-ndjson", "json": "application/json"}
EXIT_JOB_FAILED = 10  # `jobs submit --wait`: the job ended failed or cancelled (docs/cli.md)
HTTP_ERRORS: dict[int, type[errors.ValidatorError]] = {
    400: errors.BadRequest,
    401: errors.Unauthorized,
    403: errors.Forbidden,
    404: errors.NotFound,
    409: errors.Conflict,
    413: errors.BodyTooLarge,
    415: errors.UnsupportedMediaType,
    503: errors.StoreUnavailable,
}


def add_commands(commands: Any) -> None:
    batch = commands.add_parser("batch", help="validate a list (CSV, NDJSON or JSON) here, without a server")
    batch.add_argument("input", help="path, or - for standard input")
    batch.add_argument("-o", "--output", required=True, help="results: .csv for CSV, else NDJSON; - for stdout")
    _input_options(batch)
    batch.add_argument(
        "--smtp", action="store_true", help="probe each address over SMTP (RCPT TO; needs outbound port 25)"
    )
    batch.add_argument("--dedupe", action="store_true", help="answer repeated addresses by reference to the first")
    batch.set_defaults(run=_batch)

    jobs = commands.add_parser("jobs", help="submit and follow bulk jobs on a remote service")
    sub = jobs.add_subparsers(required=True)
    submit = sub.add_parser("submit", help="upload a list; print the job")
    submit.add_argument("input", help="path (CSV, NDJSON or JSON by extension)")
    _input_options(submit)
    submit.add_argument("--smtp", action="store_true")
    submit.add_argument("--dedupe", action="store_true")
    submit.add_argument("--callback-url")
    submit.add_argument("--wait", action="store_true", help="follow the job's progress until it finishes")
    for name, helptext in (
        ("status", "print a job"),
        ("cancel", "cancel a job (delete it once finished, or still receiving)"),
    ):
        cmd = sub.add_parser(name, help=helptext)
        cmd.add_argument("job_id")
    listing = sub.add_parser("list", help="print jobs, newest first (receiving: uploads left by a dead process)")
    listing.add_argument(
        "--status",
        choices=[s.value for s in JobStatus],
        help="only jobs with this status (default every status but receiving)",
    )
    results = sub.add_parser("results", help="download a finished job's results")
    results.add_argument("job_id")
    results.add_argument("-o", "--output", default="-", help="file (.csv for CSV), or - for stdout (NDJSON)")
    for cmd in sub.choices.values():
        cmd.add_argument("--url", default="http://127.0.0.1:8080", help="the service (default %(default)s)")
        cmd.add_argument("--key", help="an API key with the jobs scope")
    submit.set_defaults(run=lambda a, s: asyncio.run(_remote(a, _submit)))
    sub.choices["status"].set_defaults(run=lambda a, s: asyncio.run(_remote(a, _status)))
    sub.choices["cancel"].set_defaults(run=lambda a, s: asyncio.run(_remote(a, _cancel)))
    listing.set_defaults(run=lambda a, s: asyncio.run(_remote(a, _list)))
    results.set_defaults(run=lambda a, s: asyncio.run(_remote(a, _results)))


def _input_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--column", help="CSV: the address column's header name")
    parser.add_argument("--column-index", type=int, help="CSV: the address column's 0-based index")
    parser.add_argument("--format", choices=sorted(CONTENT_TYPES), help="input format (default: by extension)")


def _input_format(args: argparse.Namespace) -> str:
    return args.format or EXTENSIONS.get(Path(args.input).suffix.lower(), "csv")


# --- progress and summary ------------------------------------------------------------------------


class Progress:
    """``[#####.....] 50%  500,000/1,000,000 rows  12,345 rows/s  ETA 0:40`` on standard error:
    redrawn in place on a terminal, a line every few seconds otherwise (logs, CI). The first
    advance draws at once; the rate and ETA appear only once rows have been answered."""

    def __init__(self, total: int | None, out: IO[str] = sys.stderr) -> None:
        self.total, self.done, self._out = total, 0, out
        self._began = time.monotonic()
        self._shown: float | None = None
        self._tty = out.isatty()

    def advance(self, rows: int, final: bool = False) -> None:
        self.done += rows
        now = time.monotonic()
        if final or self._shown is None or now - self._shown >= (0.2 if self._tty else 5.0):
            self._shown = now
            self._out.write(("\r" if self._tty else "") + self.line(now) + ("" if self._tty and not final else "\n"))
            self._out.flush()

    def line(self, now: float) -> str:
        elapsed = now - self._began
        rate = f"  {self.done / elapsed:,.0f} rows/s" if self.done and elapsed > 0 else ""
        if not self.total:
            return f"{self.done:,} rows{rate}"
        share = min(self.done / self.total, 1.0)
        bar = "#" * int(share * 20) + "." * (20 - int(share * 20))
        eta = ""
        if rate and self.done < self.total:
            left = (self.total - self.done) * elapsed / self.done
            eta = f"  ETA {int(left // 60)}:{int(left % 60):02d}"
        return f"[{bar}] {share:4.0%}  {self.done:,}/{self.total:,} rows{rate}{eta}"


def progress_advance(progress: Progress) -> Answered:
    """``answer_rows``' ``answered``: the progress line moves per slice."""

    async def advance(rows: int) -> None:
        progress.advance(rows)

    return advance


def summary_table(counts: Counts, total: int) -> str:
    rows = [("STATUS", "ROWS", "SHARE")]
    rows += [(k, f"{n:,}", f"{n / max(total, 1):.1%}") for k, n in sorted(counts.statuses.items(), key=lambda i: -i[1])]
    rows += [("REASON", "ROWS", "SHARE")]
    rows += [(k, f"{n:,}", f"{n / max(total, 1):.1%}") for k, n in sorted(counts.reasons.items(), key=lambda i: -i[1])]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return "".join(f"{r[0].ljust(widths[0])}  {r[1].rjust(widths[1])}  {r[2].rjust(widths[2])}\n" for r in rows)


# --- batch: here, without a server -------------------------------------------------------------


def _count_lines(path: str) -> int | None:
    """Lines of the input, for the ETA (an estimate where quoted cells hold line breaks); None
    for standard input, which can be read only once."""
    if path == "-":
        return None
    lines, last = 0, b"\n"
    with open_input(path) as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            lines, last = lines + block.count(b"\n"), block[-1:]
    return lines + (last != b"\n")  # a last line without its line break counts too


def _read_chunks(source: BinaryIO) -> Iterator[bytes]:
    with source:
        yield from iter(lambda: source.read(READ_BYTES), b"")


def _batch(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_run_batch(args, settings))


async def _run_batch(args: argparse.Namespace, settings: Settings) -> int:
    from validator.jobs.answer import GreylistRetry
    from validator.runtime import open_services

    if args.smtp:
        settings = settings.with_values(smtp_probe="true")  # asked for on this run: the flag enables it
    kind = _input_format(args)
    lines = _count_lines(args.input) if kind != "json" else None
    source, out = open_input(args.input), open_output(args.output)  # both before any work: fail fast
    upload = Upload(source_for(kind, CsvChoice(args.column, args.column_index)), settings.job_max_rows, args.dedupe)
    services = contextlib.AsyncExitStack()
    checker = (await services.enter_async_context(open_services(settings, smtp=args.smtp))).checker
    progress = Progress(lines)
    counts = Counts()
    csv = args.output.endswith(".csv")
    try:
        if csv:
            out.write(jw.csv_header())
        pending: list[InputRow] = []
        for data in itertools.chain(_read_chunks(source), [None]):  # a block at a time, then the end
            rows = upload.feed(data) if data is not None else upload.finish()
            if rows and upload.rows == len(rows):  # the first rows
                if progress.total:
                    progress.total -= rows[0].row - 1  # the lines before them (a header) are no rows
                progress.advance(0)  # a first line at once: the first slice may take seconds
            pending += rows
            while len(pending) >= settings.job_chunk_rows or (data is None and pending):
                chunk, pending = pending[: settings.job_chunk_rows], pending[settings.job_chunk_rows :]
                before = progress.done
                answer = await answer_rows(
                    checker,
                    chunk,
                    jw.result_line,
                    slice_size=CLI_SLICE,
                    timeout_ms=settings.job_timeout_ms,
                    smtp=args.smtp,
                    greylist=GreylistRetry(settings.job_greylist_delay, settings.job_greylist_retries),
                    answered=progress_advance(progress),
                )
                lines_out = b"".join(answer.lines)
                out.write(jw.csv_rows(lines_out) if csv else lines_out)
                counts = counts.plus(answer.counts)
                progress.done = before  # rows not checked (unreadable, duplicates) and greylist retries: settle
                progress.advance(len(chunk))
        progress.total = progress.done
        progress.advance(0, final=True)
    finally:
        if out is not sys.stdout.buffer:
            out.close()
        await services.aclose()
    sys.stderr.write(summary_table(counts, progress.done))
    return 0


# --- jobs: a remote service ----------------------------------------------------------------------


async def _remote(args: argparse.Namespace, command: Any) -> int:
    import aiohttp

    headers = {"Authorization": f"Bearer {args.key}"} if args.key else {}
    async with aiohttp.ClientSession(
        args.url.rstrip("/"), headers=headers, timeout=aiohttp.ClientTimeout(total=None, sock_connect=10)
    ) as session:
        try:
            return await command(session, args)
        except aiohttp.ClientConnectionError as exc:
            cause = exc.os_error if isinstance(exc, aiohttp.ClientConnectorError) else None
            why = os.strerror(cause.errno) if cause is not None and cause.errno else str(exc) or type(exc).__name__
            raise errors.Unreachable(
                f"cannot reach {args.url}: {why.lower()}; is `validator serve` running there? (--url names the service)"
            ) from exc


async def _checked(response: Any) -> Any:
    if response.status < 400:
        return response
    try:
        message = (await response.json())["error"]["message"]
    except Exception:  # not our error shape (a proxy's page)
        message = response.reason or "no explanation"
    hint = FIXES.get(response.status, "")
    raise HTTP_ERRORS.get(response.status, errors.ValidatorError)(
        f"the service answered {response.status}: {message}{hint}"
    )


FIXES = {
    401: "; pass --key with a key that has the jobs scope (validator keys create --name NAME --scope jobs)",
    403: "; use a key with the jobs scope (validator keys create --name NAME --scope jobs)",
    503: "; the store is busy or down: try again shortly",
}


def _print(data: object) -> None:
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")


async def _file_body(source: BinaryIO) -> AsyncIterator[bytes]:
    for data in _read_chunks(source):
        yield data


async def _submit(session: Any, args: argparse.Namespace) -> int:
    params = {
        k: v
        for k, v in (("column", args.column), ("column_index", args.column_index), ("callback_url", args.callback_url))
        if v is not None
    }
    params |= {k: "true" for k in ("smtp", "dedupe") if getattr(args, k)}
    kind = _input_format(args)
    source = open_input(args.input)  # before the upload starts: a missing file is not the service's fault
    async with session.post(
        "/v1/jobs", params=params, data=_file_body(source), headers={"Content-Type": CONTENT_TYPES[kind]}
    ) as response:
        job = await (await _checked(response)).json()
    if not args.wait:
        _print(job)
        return 0
    progress = Progress(job["total"])
    progress.advance(job["processed"])
    while job["status"] not in ("completed", "failed", "cancelled"):
        await asyncio.sleep(1.0)
        async with session.get(f"/v1/jobs/{job['id']}") as response:
            job = await (await _checked(response)).json()
        progress.advance(job["processed"] - progress.done)
    progress.advance(0, final=True)
    _print(job)
    counts = job["counts"]
    sys.stderr.write(summary_table(Counts(counts["statuses"], counts["reasons"]), job["total"]))
    return 0 if job["status"] == "completed" else EXIT_JOB_FAILED


async def _status(session: Any, args: argparse.Namespace) -> int:
    async with session.get(f"/v1/jobs/{args.job_id}") as response:
        _print(await (await _checked(response)).json())
    return 0


async def _list(session: Any, args: argparse.Namespace) -> int:
    """Every page, as one JSON array (an admin key sees every key's jobs)."""
    jobs, params = [], {"status": args.status} if args.status else {}
    while True:
        async with session.get("/v1/jobs", params=params) as response:
            page = await (await _checked(response)).json()
        jobs += page["items"]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    _print(jobs)
    return 0


async def _cancel(session: Any, args: argparse.Namespace) -> int:
    async with session.delete(f"/v1/jobs/{args.job_id}") as response:
        await _checked(response)
        if response.status == 204:
            print(f"deleted {args.job_id}", file=sys.stderr)
        else:
            _print(await response.json())
    return 0


async def _results(session: Any, args: argparse.Namespace) -> int:
    fmt = "csv" if args.output.endswith(".csv") else "ndjson"
    async with session.get(f"/v1/jobs/{args.job_id}/results", params={"format": fmt}) as response:
        await _checked(response)
        out = open_output(args.output)
        try:
            async for data in response.content.iter_chunked(READ_BYTES):
                out.write(data)
        finally:
            if out is not sys.stdout.buffer:
                out.close()
    return 0
