"""Route handlers: parse (wire) → call (checker) → serialise. Nothing else lives here."""

from __future__ import annotations

import logging

from aiohttp import web

from validator.api import app_keys as keys
from validator.api.middleware import json_response
from validator.api.publishable import public_verdict_json
from validator.errors import Forbidden, StoreUnavailable
from validator.wire import validation as wire

routes = web.RouteTableDef()
log = logging.getLogger("validator.api")


@routes.post("/v1/validate")
async def validate(request: web.Request) -> web.Response:
    app = request.app
    query = wire.parse_validate(await request.read(), max_timeout_ms=app[keys.SETTINGS].max_timeout_ms)
    public = request.get(keys.PUBLISHABLE_KEY, False)
    if public and query.smtp:  # a page's visitors must not turn the service into a mailbox prober
        raise Forbidden("a publishable key cannot ask for SMTP probes", field="smtp")
    with app[keys.REALTIME_GATE].serving():  # bulk jobs wait between slices meanwhile
        verdict = await app[keys.CHECKER].check(query.email, query.timeout_ms, smtp=query.smtp, for_page=public)
    return json_response(public_verdict_json(verdict) if public else wire.verdict_json(verdict))


@routes.options("/v1/validate")
async def validate_preflight(request: web.Request) -> web.Response:
    return await request.app[keys.PUBLISHABLE_GATE].preflight(request)


@routes.post("/v1/validate/batch")
async def validate_batch(request: web.Request) -> web.Response:
    settings = request.app[keys.SETTINGS]
    query = wire.parse_batch(await request.read(), max_timeout_ms=settings.max_timeout_ms, max_items=settings.batch_max)
    with request.app[keys.REALTIME_GATE].serving():
        verdicts = await request.app[keys.CHECKER].check_many(query.emails, query.timeout_ms, smtp=query.smtp)
    return json_response({"count": len(verdicts), "results": [wire.verdict_json(v) for v in verdicts]})


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    if request.app[keys.SHUTTING_DOWN][0]:
        return json_response({"status": "shutting_down"}, status=503)
    try:
        await request.app[keys.STORE].ping()
    except StoreUnavailable as exc:  # the why (a database address, a driver's text) is for the log only:
        log.warning("not ready: %s", exc.message)  # /readyz answers anyone
        return json_response({"status": "store_unavailable", "reason": exc.code}, status=503)
    # Ready while the key filters are built: lookups then go to the store, with the same answers,
    # only slower, and a large list must not keep a replica out of rotation for minutes.
    return json_response({"status": "ready", "key_filters_building": request.app[keys.STORE].key_filters_building})


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    stats = request.app[keys.RESOLVER].stats
    prober = request.app[keys.PROBER]
    pool = prober.pool_stats
    text = request.app[keys.METRICS].render(
        [
            ("validator_dns_cache_hits_total", "counter", "MX answers served from the cache.", stats.cache_hits),
            ("validator_dns_cache_misses_total", "counter", "MX answers that needed DNS queries.", stats.cache_misses),
            ("validator_dns_queries_total", "counter", "DNS queries sent.", stats.queries_sent),
            (
                "validator_smtp_probe_cache_hits_total",
                "counter",
                "SMTP probes answered from the cache.",
                prober.stats.cache_hits,
            ),
            ("validator_smtp_connections_total", "counter", "SMTP sessions opened.", pool.connections),
            (
                "validator_smtp_connect_attempts_total",
                "counter",
                "TCP connections attempted to MX hosts.",
                pool.connect_attempts,
            ),
            (
                "validator_smtp_guard_refusals_total",
                "counter",
                "MX addresses refused by the network guard.",
                pool.guard_refusals,
            ),
            ("validator_smtp_recipients_total", "counter", "RCPT TO commands sent.", pool.recipients),
            (
                "validator_smtp_tarpits_total",
                "counter",
                "SMTP sessions retired because their replies slowed down.",
                pool.tarpits,
            ),
            (
                "validator_smtp_refusal_closes_total",
                "counter",
                "SMTP sessions ended at their refusal cap.",
                pool.refusal_closes,
            ),
            (
                "validator_smtp_unasked_total",
                "counter",
                "Recipients answered with their host's refusal of the prober, never sent.",
                pool.unasked,
            ),
        ]
    )
    return web.Response(body=text.encode(), headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})
