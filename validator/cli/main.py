"""The command line: ``serve``, ``check``, ``keys`` / ``suppress`` on the configured store, and
``batch`` / ``jobs`` for bulk lists (``cli_jobs.py``).

Argument parsing and rendering only; the work is done by the same Checker the API uses, and
errors are the same ``ValidatorError`` classes, mapped to exit codes in one table.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import multiprocessing
import os
import signal
import socket
import sys
import traceback
from collections.abc import Sequence
from typing import BinaryIO, NoReturn
from urllib.parse import urlsplit

import orjson

from validator import errors
from validator.config import Settings
from validator.model import Status, Verdict

# The exit codes, documented in docs/cli.md; a test runs every failure mode and checks its code.
EXIT_CODE: dict[type[errors.ValidatorError], int] = {
    errors.ConfigError: 2,
    errors.BadRequest: 2,
    errors.BodyTooLarge: 2,
    errors.UnparseableMessage: 2,
    errors.NotFound: 4,
    errors.Conflict: 5,
    errors.StoreUnavailable: 6,
    errors.FileUnusable: 7,
    errors.Unreachable: 8,
    errors.Unauthorized: 9,
    errors.Forbidden: 9,
}
EXIT_UNDELIVERABLE = 1  # `check`: at least one address is undeliverable (grep-like, for scripts)
EXIT_INTERNAL = 3  # anything unforeseen: a bug to report, with the traceback `--debug` prints


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
        where = f" ({exc.field})" if exc.field and exc.field not in exc.message else ""
        for line in f"{exc.message}{where}".splitlines():
            print(f"validator: {line}", file=sys.stderr)
        return exit_code(exc)
    except KeyboardInterrupt:
        return 130  # 128 + SIGINT, as shells report it
    except Exception as exc:  # noqa: BLE001 - the last resort: one line, not a traceback
        if debug:
            raise
        print(
            f"validator: internal error: {type(exc).__name__}: {exc} (run again with --debug for the traceback, "
            "and report it)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


def exit_code(exc: errors.ValidatorError) -> int:
    return next((code for cls, code in EXIT_CODE.items() if isinstance(exc, cls)), EXIT_INTERNAL)


class _Parser(argparse.ArgumentParser):
    """argparse with the one error style: ``validator: <what went wrong>`` and where to read more."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"validator: {message} (see {self.prog} --help)\n")


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


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="validator", description="Pre-send email validation service.")
    parser.add_argument("--debug", action="store_true", help="print the traceback of an error (anywhere on the line)")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host", help="overrides VALIDATOR_HOST")
    serve.add_argument("--port", help="overrides VALIDATOR_PORT")
    serve.add_argument("--database-url", help="overrides VALIDATOR_DATABASE_URL")
    serve.add_argument("--dns-nameservers", help="overrides VALIDATOR_DNS_NAMESERVERS")
    serve.add_argument("--dns-timeout", help="overrides VALIDATOR_DNS_TIMEOUT")
    serve.add_argument("--workers", help="overrides VALIDATOR_WORKERS")
    serve.add_argument("--log-level", help="overrides VALIDATOR_LOG_LEVEL")
    serve.set_defaults(run=_serve)

    check = commands.add_parser("check", help="validate addresses and print the verdicts")
    check.add_argument("addresses", nargs="+", metavar="ADDRESS")
    check.add_argument("--json", action="store_true", help="print one JSON verdict per line (the API's shape)")
    check.add_argument("--timeout-ms", type=int, help="deadline per address (default VALIDATOR_DEFAULT_TIMEOUT_MS)")
    check.add_argument("--dns-nameservers", help="overrides VALIDATOR_DNS_NAMESERVERS")
    check.add_argument(
        "--smtp",
        action="store_true",
        help="also ask the MX hosts with an SMTP RCPT probe (turns VALIDATOR_SMTP_PROBE on for this run; "
        "the network guard and every other VALIDATOR_SMTP_* limit still apply)",
    )
    check.set_defaults(run=_check)

    from validator.cli import bounces as cli_bounces
    from validator.cli import jobs as cli_jobs
    from validator.cli import store as cli_store

    cli_store.add_commands(commands)
    cli_bounces.add_commands(commands)
    cli_jobs.add_commands(commands)
    return parser


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    settings = settings.with_values(
        host=args.host,
        port=args.port,
        database_url=args.database_url,
        dns_nameservers=args.dns_nameservers,
        dns_timeout=args.dns_timeout,
        workers=args.workers,
        log_level=args.log_level,
    )
    from validator.api.access_log import LOG_FORMAT

    logging.basicConfig(level=settings.log_level.upper(), format=LOG_FORMAT)
    logging.getLogger("validator").info("store: %s", shown_url(settings.database_url))
    if settings.workers == 1:
        _run_server(settings, reuse_port=False)
        return 0
    _check_port(settings)  # here, once: each worker would otherwise report it
    # Several processes accept on one port (SO_REUSEPORT); each has its own caches.
    context = multiprocessing.get_context("spawn")
    children = [context.Process(target=_run_worker, args=(settings,)) for _ in range(settings.workers)]
    for child in children:
        child.start()

    def forward(signum: int, _frame: object) -> None:
        for child in children:
            if child.pid is not None:
                os.kill(child.pid, signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for child in children:
        child.join()
    return max((child.exitcode or 0) for child in children)


def _run_server(settings: Settings, reuse_port: bool) -> None:
    from aiohttp import web

    from validator.api import create_app
    from validator.api.access_log import LOG_FORMAT, MaskedAccessLogger, flush_access_log
    from validator.runtime import settle_heap

    if reuse_port:
        logging.basicConfig(level=settings.log_level.upper(), format=LOG_FORMAT)
    app = create_app(settings)
    settle_heap()  # the garbage collector's full collections off the loop's critical path
    try:
        web.run_app(
            app,
            host=settings.host,
            port=settings.port,
            reuse_port=reuse_port or None,
            shutdown_timeout=settings.shutdown_timeout,
            access_log=logging.getLogger("validator.access") if settings.access_log else None,
            access_log_class=MaskedAccessLogger,
            print=lambda text: logging.getLogger("validator").info("%s", text.strip()),
        )
        flush_access_log()  # a worker process (multiprocessing) exits without running atexit handlers
    except OSError as exc:  # raised by the bind, before anything was served
        if exc.errno not in _LISTEN_ERRNOS:
            raise
        raise _cannot_listen(settings, exc) from exc


_LISTEN_ERRNOS = {errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL}


def _cannot_listen(settings: Settings, exc: OSError) -> errors.Unreachable:
    why = os.strerror(exc.errno) if exc.errno else str(exc)
    return errors.Unreachable(
        f"cannot listen on {settings.host}:{settings.port}: {why.lower()}; stop what holds it "
        "or choose another port (--port or VALIDATOR_PORT)"
    )


def _check_port(settings: Settings) -> None:
    try:
        infos = socket.getaddrinfo(settings.host, settings.port, type=socket.SOCK_STREAM)
        with socket.socket(infos[0][0], socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)  # as the workers will
            probe.bind(infos[0][4])
    except OSError as exc:
        raise _cannot_listen(settings, exc) from exc


def _run_worker(settings: Settings) -> None:
    """One of several server processes: an error is reported as ``main`` reports it."""
    try:
        _run_server(settings, reuse_port=True)
    except errors.ValidatorError as exc:
        print(f"validator: {exc.message}", file=sys.stderr)
        sys.exit(exit_code(exc))


def shown_url(url: str) -> str:
    """A store URL fit for a log: its password replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)).geturl()


def _check(args: argparse.Namespace, settings: Settings) -> int:
    settings = settings.with_values(dns_nameservers=args.dns_nameservers, smtp_probe="true" if args.smtp else None)
    verdicts = asyncio.run(_check_all(settings, args.addresses, args.timeout_ms, args.smtp))
    if args.json:
        from validator.wire.validation import verdict_json

        for verdict in verdicts:
            sys.stdout.write(orjson.dumps(verdict_json(verdict)).decode() + "\n")
    else:
        sys.stdout.write(render_table(verdicts))
    return EXIT_UNDELIVERABLE if any(v.status is Status.UNDELIVERABLE for v in verdicts) else 0


async def _check_all(settings: Settings, addresses: list[str], timeout_ms: int | None, smtp: bool) -> list[Verdict]:
    from validator.runtime import open_services

    async with open_services(settings, smtp=smtp) as services:
        return await services.checker.check_many(addresses, timeout_ms, smtp=smtp)


def render_table(verdicts: Sequence[Verdict]) -> str:
    rows = [("ADDRESS", "STATUS", "ACTION", "REASONS", "SUGGESTION")]
    for v in verdicts:
        rows.append((v.email, v.status.value, v.action.value, ",".join(v.reasons) or "-", v.suggestion or "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() + "\n" for row in rows)
