"""The command line's entry point (``validator = validator.cli.main:main``): the argument parser,
dispatch to the command modules, and how a failure ends (one ``validator: <message>`` line and
the exit code of ``cli/exits.py``).

Each command lives in its own module with an ``add_commands(subparsers)`` that declares its
arguments and the function to run: ``serve``, ``check``, ``keys``, ``suppress``, ``bounces``
(``ingest`` and ``report``), ``batch`` (a list checked here) and ``jobs`` (a remote service).
Nothing here loads aiohttp's server or ``validator.api``: only ``serve`` does, when it runs.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from typing import NoReturn

from validator import errors
from validator.cli import batch, bounces, check, jobs, keys, serve, suppress
from validator.cli.exits import EXIT_INTERNAL, EXIT_INTERRUPTED, exit_code
from validator.cli.render import print_error
from validator.config import Settings

# in the order `validator --help` lists them
COMMANDS = (serve, check, keys, suppress, bounces, batch, jobs)


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in words  # accepted anywhere on the line: it is what one adds after a failure
    args = _parser().parse_args([word for word in words if word != "--debug"])
    try:
        settings = Settings.from_env(os.environ)
        return int(args.run(args, settings))
    except errors.ValidatorError as exc:
        if debug:
            traceback.print_exc()
        print_error(exc)
        return exit_code(exc)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - the last resort: one line, not a traceback
        if debug:
            raise
        print(
            f"validator: internal error: {type(exc).__name__}: {exc} (run again with --debug for the traceback, "
            "and report it)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


class _Parser(argparse.ArgumentParser):
    """argparse with the one error style: ``validator: <what went wrong>`` and where to read more."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"validator: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="validator", description="Pre-send email validation service.")
    parser.add_argument("--debug", action="store_true", help="print the traceback of an error (anywhere on the line)")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_commands(commands)
    return parser
