"""``python -m bench.access_log [--quick]``: CPU per access log line, batched against through ``logging``.

The same ``MaskedAccessLogger`` writes both ways: with the plain stream handler ``validator
serve`` installs, lines are preformatted and written in batches; with any other handler (here a
``StreamHandler`` subclass, which disables the fast path) each line is a LogRecord, formatted and
written and flushed on its own, as every line was before batching. The stream is a file, then
a pipe (standard error read by a journal or ``| tee``). The request is a real aiohttp
request object for ``POST /v1/validate`` and for a suppression path holding an address.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from validator.api import access_log
from validator.api.access_log import LOG_FORMAT, MaskedAccessLogger

from .report import Table


class _Unbatched(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler the fast path does not recognise: every line goes through logging."""


def _logger(stream: object, batched: bool) -> logging.Logger:
    logger = logging.getLogger(f"bench.access.{'batched' if batched else 'logging'}")
    logger.handlers.clear()
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler = (logging.StreamHandler if batched else _Unbatched)(stream)  # type: ignore[arg-type]
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    logger.addHandler(handler)
    return logger


async def _per_line_us(logger: logging.Logger, target: str, lines: int) -> float:
    access = MaskedAccessLogger(logger, "")
    request = make_mocked_request("POST", target)
    response = web.Response(status=200)
    began = time.process_time()
    for _ in range(lines):
        access.log(request, response, 0.000412)
    access_log.flush_access_log()  # the batched writes count too
    return (time.process_time() - began) / lines * 1e6


def run(lines: int, repeats: int) -> Table:
    table = Table(
        f"Access log: CPU per request line (median of {repeats} x {lines:,} lines)",
        ["Request", "Written to", "Through logging (before)", "Batched (default)", "Saved"],
    )
    with (
        tempfile.TemporaryDirectory() as directory,
        open(Path(directory) / "access.log", "w") as file,
        subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True) as reader,
    ):
        for where, stream in (("a file", file), ("a pipe (a journal, `| tee`)", reader.stdin)):
            for target in ("/v1/validate", "/v1/suppressions/first%2Elast%40example.com?why=resubscribed"):
                slow = statistics.median(
                    asyncio.run(_per_line_us(_logger(stream, False), target, lines)) for _ in range(repeats)
                )
                fast = statistics.median(
                    asyncio.run(_per_line_us(_logger(stream, True), target, lines)) for _ in range(repeats)
                )
                table.rows.append(
                    [target, where, f"{slow:.1f} µs", f"{fast:.1f} µs", f"{slow - fast:.1f} µs ({slow / fast:.1f}x)"]
                )
        reader.stdin.close()  # type: ignore[union-attr]
    table.notes.append("CPU time of this process (time.process_time), its writes included")
    return table


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.access_log")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print(run(5_000 if args.quick else 50_000, 3 if args.quick else 7).text())


if __name__ == "__main__":
    main()
