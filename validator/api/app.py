"""``create_app(settings)``: the aiohttp application, its shared objects and their lifetimes.

Shared objects live under typed ``web.AppKey``s (no singletons); resources open in
``cleanup_ctx`` generators, so teardown runs only when set-up finished.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from ..checker import Checker
from ..config import Settings
from ..metrics import Metrics
from ..mx import MxResolver
from .keys import CHECKER, METRICS, RESOLVER, SETTINGS, SHUTTING_DOWN
from .middleware import make_middleware
from .routes import routes


def create_app(settings: Settings) -> web.Application:
    metrics = Metrics()
    app = web.Application(middlewares=[make_middleware(metrics)], client_max_size=settings.max_body_bytes)
    app[SETTINGS] = settings
    app[METRICS] = metrics
    app[SHUTTING_DOWN] = [False]
    app.cleanup_ctx.append(_checker_context)
    app.on_shutdown.append(_mark_shutting_down)
    app.add_routes(routes)
    return app


async def _checker_context(app: web.Application) -> AsyncIterator[None]:
    resolver = MxResolver(app[SETTINGS])
    app[RESOLVER] = resolver
    app[CHECKER] = Checker(app[SETTINGS], resolver, app[METRICS])
    yield
    await resolver.close()


async def _mark_shutting_down(app: web.Application) -> None:
    """From SIGTERM on, /readyz says 503 so a load balancer stops sending new work."""
    app[SHUTTING_DOWN][0] = True
