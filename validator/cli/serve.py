"""``validator serve``: the HTTP service, in one process or in several sharing a port.

The only CLI module that reaches the HTTP edge (``validator.api``), and only once the command
runs: every other command, ``check`` included, starts without loading aiohttp's server or
the application. A port that cannot be bound is an ``Unreachable`` naming the fix.
"""

from __future__ import annotations

import argparse
import errno
import logging
import multiprocessing
import os
import signal
import socket
import sys
from typing import Any

from validator import errors
from validator.cli.exits import exit_code
from validator.cli.render import print_error, shown_url
from validator.config import Settings

_LISTEN_ERRNOS = {errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL}


def add_commands(commands: Any) -> None:
    serve = commands.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host", help="overrides VALIDATOR_HOST")
    serve.add_argument("--port", help="overrides VALIDATOR_PORT")
    serve.add_argument("--database-url", help="overrides VALIDATOR_DATABASE_URL")
    serve.add_argument("--dns-nameservers", help="overrides VALIDATOR_DNS_NAMESERVERS")
    serve.add_argument("--dns-timeout", help="overrides VALIDATOR_DNS_TIMEOUT")
    serve.add_argument("--workers", help="overrides VALIDATOR_WORKERS")
    serve.add_argument("--log-level", help="overrides VALIDATOR_LOG_LEVEL")
    serve.set_defaults(run=_serve)


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
        print_error(exc)
        sys.exit(exit_code(exc))
