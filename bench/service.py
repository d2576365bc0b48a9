"""The service's own Checker for in-process benchmarks, built the way ``validator serve`` builds it.

``create_app(settings)`` and its start-up (``AppRunner.setup()``, which binds no socket)
make the Checker with every adapter the service injects (MX resolver, store, metrics), so a
benchmark measures what a request runs, whatever adapters are added later. The database is
a fresh SQLite file in a temporary directory, never the repository's ``data/``.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import NamedTuple

from aiohttp import web

from validator.api import app_keys as keys
from validator.api import create_app
from validator.checker import Checker
from validator.config import Settings
from validator.mx import MxResolver
from validator.store import Store


class Service(NamedTuple):
    checker: Checker
    resolver: MxResolver  # for its counters: a timed check must not miss the MX cache
    store: Store  # for timing its share of a check


def bench_settings(host: str, port: int, workdir: str, database_url: str | None = None) -> Settings:
    """The embedded defaults, with the loopback DNS server and a throw-away database (or ``database_url``)."""
    return dataclasses.replace(
        Settings(),
        job_process=False,
        dns_nameservers=((host, port),),
        database_url=database_url or f"sqlite:///{Path(workdir) / 'bench.sqlite3'}",
    )


@asynccontextmanager
async def service_checker(host: str, port: int, database_url: str | None = None) -> AsyncIterator[Service]:
    """``async with service_checker(host, port) as (checker, resolver, store)``: the app's own.

    ``database_url``: an existing store to use (e.g. one loaded with suppressions) instead of
    a fresh SQLite file.
    """
    with tempfile.TemporaryDirectory(prefix="bench-service-") as workdir:
        app = create_app(bench_settings(host, port, workdir, database_url))
        runner = web.AppRunner(app)
        await runner.setup()
        try:
            yield Service(app[keys.CHECKER], app[keys.RESOLVER], app[keys.STORE])
        finally:
            await runner.cleanup()
