"""Files named on the command line: opened for reading or writing (``-``: the standard streams),
read in blocks, and the list options (format and address column) that ``batch`` and
``jobs submit`` share.

A file that cannot be opened is a ``FileUnusable`` naming the path, raised before any work
starts, so a typo in a path is never reported as the store's or the service's fault.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from validator import errors

READ_BYTES = 1 << 16
LIST_FORMATS = {".csv": "csv", ".txt": "csv", ".ndjson": "ndjson", ".jsonl": "ndjson", ".json": "json"}
CONTENT_TYPES = {"csv": "text/csv", "ndjson": "application/x-ndjson", "json": "application/json"}


def open_input(path: str) -> BinaryIO:
    """A file named on the command line, opened for reading (``-``: standard input)."""
    if path == "-":
        return sys.stdin.buffer
    try:
        return open(path, "rb")  # noqa: SIM115 - the caller closes it
    except OSError as exc:
        raise errors.FileUnusable(f"cannot read {path}: {exc.strerror or exc}") from exc


def open_output(path: str) -> BinaryIO:
    """A file named on the command line, created or truncated for writing (``-``: standard output)."""
    if path == "-":
        return sys.stdout.buffer
    try:
        return open(path, "wb")  # noqa: SIM115 - the caller closes it
    except OSError as exc:
        raise errors.FileUnusable(f"cannot write {path}: {exc.strerror or exc}") from exc


def close_output(out: BinaryIO) -> None:
    """Close what ``open_output`` opened; standard output stays open for whatever prints next."""
    if out is not sys.stdout.buffer:
        out.close()


def read_chunks(source: BinaryIO) -> Iterator[bytes]:
    """The file in blocks of ``READ_BYTES``, closed at the end: a list of millions of rows never sits in memory."""
    with source:
        yield from iter(lambda: source.read(READ_BYTES), b"")


def add_list_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--column", help="CSV: the address column's header name")
    parser.add_argument("--column-index", type=int, help="CSV: the address column's 0-based index")
    parser.add_argument("--format", choices=sorted(CONTENT_TYPES), help="input format (default: by extension)")


def list_format(args: argparse.Namespace) -> str:
    """``--format``, else the input's extension, else CSV (one address a line is a one-column CSV)."""
    return args.format or LIST_FORMATS.get(Path(args.input).suffix.lower(), "csv")
