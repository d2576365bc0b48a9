"""The one composition root: store → MX resolver → prober → checker, built and closed here only.

The HTTP application, the CLI and the job runner's child process all get their services from
``open_services`` (or ``build_services`` when the caller already holds the store, as the
application does to report a read-only store at start-up), so the assembly and its teardown
order are written once. Also the process-level heap settings of a long-running service.

GC settings (``settle_heap``), measured while a job ran in the service's process (``python -m
bench jobs``): CPython's full collections came every few seconds and held the event loop
30-160 ms each (they walk every tracked object, the MX cache of 20,000 domains included): the
longest stalls real-time requests saw. What exists once the service is built lives as long as
the process, so it is frozen out of every collection; a larger first generation lets the objects
of requests and job slices die young. Called at the process edges (``validator serve``, the job
runner's child process), never by tests or libraries.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from validator.checker import Checker
from validator.config import Settings
from validator.metrics import Metrics
from validator.mx import MxResolver
from validator.probe.prober import Prober
from validator.store import Store, open_store

GC_THRESHOLDS = (10_000, 20, 10)  # CPython's default is (700, 10, 10)


@dataclass(frozen=True, slots=True)
class Services:
    """What a validation needs, assembled once; ``prober`` is None where SMTP probing is off."""

    store: Store
    resolver: MxResolver
    prober: Prober | None
    checker: Checker

    async def close(self) -> None:
        """Close in the reverse order of assembly; the store is closed by whoever opened it."""
        await self.checker.close()
        if self.prober is not None:
            await self.prober.close()  # QUIT the pooled SMTP sessions
        await self.resolver.close()


def build_services(settings: Settings, store: Store, metrics: Metrics | None = None, *, smtp: bool = True) -> Services:
    """Assemble the validation services on an open store (``smtp``: build the prober)."""
    resolver = MxResolver(settings)
    prober = Prober(settings) if smtp else None
    checker = Checker(settings, resolver, store, metrics, prober=prober)
    return Services(store, resolver, prober, checker)


@asynccontextmanager
async def open_services(settings: Settings, *, smtp: bool = True, key_filters: bool = True) -> AsyncIterator[Services]:
    """Open the configured store and assemble the services on it; close everything on exit.
    ``key_filters``: use the store's key filters. The job child and the CLI do without: their
    lookups come batched, one query per chunk, and a short-lived command would otherwise become
    the host's filter keeper and start a build its exit cuts short."""
    store = await open_store(settings.database_url, timeout=settings.store_timeout, key_filters=key_filters)
    try:
        services = build_services(settings, store, smtp=smtp)
        try:
            yield services
        finally:
            await services.close()
    finally:
        await store.close()


def settle_heap() -> None:
    """Collect once, freeze what survives (``gc.freeze``), raise the thresholds."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
