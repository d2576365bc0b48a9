"""``create_app(settings)``: the aiohttp application, its shared objects and their lifetimes.

Shared objects live under typed ``web.AppKey``s (no singletons); resources open in
``cleanup_ctx`` generators, so teardown runs only when set-up finished.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from validator.api import parser_errors
from validator.api.app_keys import (
    CHECKER,
    INGESTOR,
    JOB_WAKE,
    METRICS,
    PROBER,
    PUBLISHABLE_GATE,
    REALTIME_GATE,
    RESOLVER,
    SETTINGS,
    SHUTTING_DOWN,
    STORE,
    THRESHOLDS,
    WEBHOOK_SECRETS,
)
from validator.api.body_watch import SERVER_LIMITS, BodyGate
from validator.api.middleware import ClientErrorLog, make_middleware
from validator.api.publishable import ORIGINS_TTL, PublishableGate
from validator.api.routes import api_keys, bounces, jobs, pages, reports, suppressions
from validator.api.routes.validate import routes
from validator.bounces.ingest import Ingestor
from validator.bounces.policy import learning_policy
from validator.bounces.rates import thresholds_from
from validator.bounces.webhooks.secrets import load_webhook_secrets
from validator.config import Settings
from validator.errors import StoreUnavailable
from validator.jobs import supervisor as runner_process
from validator.metrics import Metrics
from validator.model import ApiKey
from validator.priority import RealtimeGate
from validator.runtime import build_services
from validator.store import open_store

log = logging.getLogger("validator")


def create_app(settings: Settings) -> web.Application:
    parser_errors.install()  # aiohttp's own refusals of malformed HTTP, in our error shape
    metrics = Metrics()
    app = web.Application(client_max_size=settings.max_body_bytes, handler_args=SERVER_LIMITS)

    async def list_keys() -> list[ApiKey]:
        return await app[STORE].list_api_keys()

    gate = PublishableGate(
        settings.publishable_rate_per_key, settings.publishable_rate_per_ip, list_keys, origins_ttl=ORIGINS_TTL
    )
    app[PUBLISHABLE_GATE] = gate
    app[REALTIME_GATE] = RealtimeGate()
    app.middlewares.append(
        make_middleware(
            metrics,
            _StoreApiKeys(app) if settings.auth else None,
            gate,
            BodyGate(settings.bodies_in_flight, settings.body_idle_timeout),
        )
    )
    app[SETTINGS] = settings
    app[METRICS] = metrics
    app[SHUTTING_DOWN] = [False]
    app[THRESHOLDS] = thresholds_from(settings)
    app[WEBHOOK_SECRETS] = load_webhook_secrets(settings)  # a bad key or certificate stops start-up here
    app.cleanup_ctx.extend([_client_error_log, _store_context, _checker_context, _job_runner_context])
    app.on_shutdown.append(_mark_shutting_down)
    app.add_routes(routes)
    app.add_routes(suppressions.routes)
    app.add_routes(bounces.routes)
    app.add_routes(jobs.routes)
    app.add_routes(api_keys.routes)
    app.add_routes(pages.routes)
    app.add_routes(reports.routes)
    return app


class _StoreApiKeys:
    """The middleware's ``ApiKeys``: the store's, read when asked (the store opens after ``create_app``)."""

    def __init__(self, app: web.Application) -> None:
        self._app = app

    def recall(self, token: str) -> ApiKey | None:
        return self._app[STORE].recall_api_key(token)

    async def verify(self, token: str) -> ApiKey | None:
        return await self._app[STORE].verify_api_key(token)


async def _client_error_log(app: web.Application) -> AsyncIterator[None]:
    """Malformed HTTP and vanished clients logged at INFO and counted (``ClientErrorLog``)."""
    server_log, quiet = logging.getLogger("aiohttp.server"), ClientErrorLog(app[METRICS])
    server_log.addFilter(quiet)
    yield
    server_log.removeFilter(quiet)


async def _store_context(app: web.Application) -> AsyncIterator[None]:
    app[STORE] = await open_store(app[SETTINGS].database_url, timeout=app[SETTINGS].store_timeout)
    try:  # a read-only store starts (reads and validations work) but is not ready: say so once here
        await app[STORE].ping()
    except StoreUnavailable as exc:
        log.warning("%s; /readyz and writes answer 503 until that is fixed (no restart needed)", exc.message)
    if app[SETTINGS].auth and not any(not key.revoked for key in await app[STORE].list_api_keys()):
        log.warning(
            "no API key exists yet: every request but /healthz and /readyz will get 401; "
            "create one with: validator keys create --name NAME --scope validate"
        )
    app[INGESTOR] = Ingestor(app[STORE], learning_policy(app[SETTINGS]))
    yield
    await app[STORE].close()


async def _checker_context(app: web.Application) -> AsyncIterator[None]:
    services = build_services(app[SETTINGS], app[STORE], app[METRICS])
    assert services.prober is not None  # built whether or not probing is enabled: it opens nothing until asked
    app[RESOLVER] = services.resolver
    app[PROBER] = services.prober
    app[CHECKER] = services.checker
    yield
    await services.close()


async def _job_runner_context(app: web.Application) -> AsyncIterator[None]:
    """The background runner of bulk jobs: in this process, or in a niced child process
    (``job_process``), or none (``job_workers`` 0). Stopped at shutdown: it releases its chunks."""
    settings = app[SETTINGS]
    runner = runner_process.build_runner(settings, app[STORE], app[CHECKER], app[REALTIME_GATE])
    working = settings.job_workers > 0
    task = asyncio.create_task(runner.run()) if working and not settings.job_process else None
    child = runner_process.RunnerChild(settings) if working and settings.job_process else None
    app[JOB_WAKE] = child.wake if child is not None else runner.wake
    yield
    if child is not None:
        await child.stop(settings.shutdown_timeout)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _mark_shutting_down(app: web.Application) -> None:
    """From SIGTERM on, /readyz says 503 so a load balancer stops sending new work."""
    app[SHUTTING_DOWN][0] = True
