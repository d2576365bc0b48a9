"""``validator batch INPUT -o OUTPUT``: a list (CSV, NDJSON or JSON) checked here, without a server.

The input is read with the API's own upload parser (``jobs/upload.py``), answered chunk by
chunk with the runner's own ``answer_rows`` and written as the API's own result lines
(NDJSON, or CSV when the output ends in ``.csv``), so a list gives the same rows here and
through a job. Memory holds one chunk. Progress (rows, rate, ETA) goes to standard error,
then the summary table of statuses and reasons (``cli/progress.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import sys
from typing import Any

from validator.cli.files import add_list_options, close_output, list_format, open_input, open_output, read_chunks
from validator.cli.progress import Progress, progress_advance, summary_table
from validator.config import Settings
from validator.jobs.answer import GreylistRetry, answer_rows
from validator.jobs.model import Counts, InputRow
from validator.jobs.sources import CsvChoice
from validator.jobs.upload import Upload, source_for
from validator.wire import jobs as jw

CLI_SLICE = 200  # addresses per check_many: as many as DNS queries in flight by default; progress moves per slice


def add_commands(commands: Any) -> None:
    batch = commands.add_parser("batch", help="validate a list (CSV, NDJSON or JSON) here, without a server")
    batch.add_argument("input", help="path, or - for standard input")
    batch.add_argument("-o", "--output", required=True, help="results: .csv for CSV, else NDJSON; - for stdout")
    add_list_options(batch)
    batch.add_argument(
        "--smtp", action="store_true", help="probe each address over SMTP (RCPT TO; needs outbound port 25)"
    )
    batch.add_argument("--dedupe", action="store_true", help="answer repeated addresses by reference to the first")
    batch.set_defaults(run=_batch)


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


def _batch(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_run_batch(args, settings))


async def _run_batch(args: argparse.Namespace, settings: Settings) -> int:
    from validator.runtime import open_services

    if args.smtp:
        settings = settings.with_values(smtp_probe="true")  # asked for on this run: the flag enables it
    kind = list_format(args)
    lines = _count_lines(args.input) if kind != "json" else None
    source, out = open_input(args.input), open_output(args.output)  # both before any work: fail fast
    upload = Upload(source_for(kind, CsvChoice(args.column, args.column_index)), settings.job_max_rows, args.dedupe)
    services = contextlib.AsyncExitStack()
    checker = (await services.enter_async_context(open_services(settings, smtp=args.smtp, key_filters=False))).checker
    progress = Progress(lines)
    counts = Counts()
    csv = args.output.endswith(".csv")
    try:
        if csv:
            out.write(jw.csv_header())
        pending: list[InputRow] = []
        for data in itertools.chain(read_chunks(source), [None]):  # a block at a time, then the end
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
        close_output(out)
        await services.aclose()
    sys.stderr.write(summary_table(counts, progress.done))
    return 0
