"""``validator jobs submit|status|list|cancel|results``: bulk jobs on a remote service, over ``/v1/jobs``.

aiohttp's client talks to the service named by ``--url`` with the key given by ``--key``; an
error answer becomes the ``ValidatorError`` of its status (so the exit code says what went
wrong) with its message and, where there is one, the fix. ``submit --wait`` follows the job
with the same progress line and summary as ``batch`` (``cli/progress.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import AsyncIterator
from typing import Any, BinaryIO

from validator import errors
from validator.cli.exits import EXIT_JOB_FAILED
from validator.cli.files import (
    CONTENT_TYPES,
    READ_BYTES,
    add_list_options,
    close_output,
    list_format,
    open_input,
    open_output,
    read_chunks,
)
from validator.cli.progress import Progress, summary_table
from validator.cli.render import print_json
from validator.jobs.model import Counts, JobStatus

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
# what to do about an answer, after the service's own message
FIXES = {
    401: "; pass --key with a key that has the jobs scope (validator keys create --name NAME --scope jobs)",
    403: "; use a key with the jobs scope (validator keys create --name NAME --scope jobs)",
    503: "; the store is busy or down: try again shortly",
}


def add_commands(commands: Any) -> None:
    jobs = commands.add_parser("jobs", help="submit and follow bulk jobs on a remote service")
    sub = jobs.add_subparsers(required=True)
    submit = sub.add_parser("submit", help="upload a list; print the job")
    submit.add_argument("input", help="path (CSV, NDJSON or JSON by extension)")
    add_list_options(submit)
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


async def _file_body(source: BinaryIO) -> AsyncIterator[bytes]:
    for data in read_chunks(source):
        yield data


async def _submit(session: Any, args: argparse.Namespace) -> int:
    params = {
        k: v
        for k, v in (("column", args.column), ("column_index", args.column_index), ("callback_url", args.callback_url))
        if v is not None
    }
    params |= {k: "true" for k in ("smtp", "dedupe") if getattr(args, k)}
    kind = list_format(args)
    source = open_input(args.input)  # before the upload starts: a missing file is not the service's fault
    async with session.post(
        "/v1/jobs", params=params, data=_file_body(source), headers={"Content-Type": CONTENT_TYPES[kind]}
    ) as response:
        job = await (await _checked(response)).json()
    if not args.wait:
        print_json(job)
        return 0
    progress = Progress(job["total"])
    progress.advance(job["processed"])
    while job["status"] not in ("completed", "failed", "cancelled"):
        await asyncio.sleep(1.0)
        async with session.get(f"/v1/jobs/{job['id']}") as response:
            job = await (await _checked(response)).json()
        progress.advance(job["processed"] - progress.done)
    progress.advance(0, final=True)
    print_json(job)
    counts = job["counts"]
    sys.stderr.write(summary_table(Counts(counts["statuses"], counts["reasons"]), job["total"]))
    return 0 if job["status"] == "completed" else EXIT_JOB_FAILED


async def _status(session: Any, args: argparse.Namespace) -> int:
    async with session.get(f"/v1/jobs/{args.job_id}") as response:
        print_json(await (await _checked(response)).json())
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
    print_json(jobs)
    return 0


async def _cancel(session: Any, args: argparse.Namespace) -> int:
    async with session.delete(f"/v1/jobs/{args.job_id}") as response:
        await _checked(response)
        if response.status == 204:
            print(f"deleted {args.job_id}", file=sys.stderr)
        else:
            print_json(await response.json())
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
            close_output(out)
    return 0
