"""Bounce-ingestion routes: events, raw bounces, ESP webhooks in; the bounce-rate report out.

Each ingestion route reads facts (``validator.bounces`` readers), hands them to the
``Ingestor`` (one store transaction: acknowledged means committed), and answers per recipient
with what was derived and done, so a sender can audit every decision.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from validator.api import app_keys as keys
from validator.api.middleware import json_response
from validator.api.routes.suppressions import actor_of
from validator.bounces.events import read_events
from validator.bounces.plan import Decision
from validator.bounces.rates import report, tally
from validator.bounces.readers.message import read_message
from validator.bounces.webhooks import read_webhook
from validator.errors import BodyTooLarge
from validator.wire.bounces import decision_json, report_filters

log = logging.getLogger("validator.bounces")
routes = web.RouteTableDef()


def ingest_response(decisions: Sequence[Decision], **extra: Any) -> web.Response:
    actions = Counter(d.outcome.value for d in decisions)
    return json_response(
        {
            "count": len(decisions),
            "actions": dict(sorted(actions.items())),
            **extra,
            "results": [decision_json(d) for d in decisions],
        }
    )


@routes.get("/v1/reports/bounce-rates")
async def bounce_rates(request: web.Request) -> web.Response:
    filters = report_filters(request.query)
    groups, open_soft = await request.app[keys.STORE].count_events(**filters)
    body = report(tally(groups, open_soft), request.app[keys.THRESHOLDS])
    return json_response(
        {"filters": {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in filters.items()}, **body}
    )


@routes.post("/v1/events")
async def events(request: web.Request) -> web.Response:
    """One event, a JSON array of events, or NDJSON; every event committed before the answer."""
    settings = request.app[keys.SETTINGS]
    body = await request.read()
    # off the event loop, as raw messages are: 1 MiB of events with long replies takes a second to read
    facts = await asyncio.to_thread(read_events, body, request.content_type, max_events=settings.events_max)
    decisions = await request.app[keys.INGESTOR].ingest(facts, source="api", actor=actor_of(request))
    return ingest_response(decisions)


@routes.post("/v1/bounces")
async def bounce(request: web.Request) -> web.Response:
    """One raw message (a DSN, an MTA bounce, an ARF report, an auto-reply) as the request body."""
    raw = await read_limited(request, request.app[keys.SETTINGS].max_message_bytes)
    # off the event loop: a message may take seconds to read (1,000 recipients, each with its words classified)
    facts = await asyncio.to_thread(read_message, raw)
    decisions = await request.app[keys.INGESTOR].ingest(facts, source="bounce", actor=actor_of(request))
    return ingest_response(decisions)


@routes.post("/v1/webhooks/{provider}")
async def webhook(request: web.Request) -> web.Response:
    """A provider's webhook, authenticated by its signature (the route needs no API key)."""
    settings, provider = request.app[keys.SETTINGS], request.match_info["provider"]
    body = await request.read()
    reading = await asyncio.to_thread(  # off the event loop, as events are
        read_webhook,
        provider,
        request.headers,
        body,
        request.app[keys.WEBHOOK_SECRETS],
        datetime.now(UTC),
        max_events=settings.events_max,
    )
    if reading.subscribe_url:
        log.warning("SNS subscription awaiting confirmation: visit %s", reading.subscribe_url)
    decisions = await request.app[keys.INGESTOR].ingest(
        list(reading.facts), source=f"webhook:{provider}", actor=f"webhook:{provider}"
    )
    return ingest_response(decisions, notes=list(reading.notes))


async def read_limited(request: web.Request, limit: int) -> bytearray:
    """The body, refused past ``limit`` bytes (raw messages may exceed VALIDATOR_MAX_BODY_BYTES);
    gathered in one buffer, so a large message is held once rather than as chunks plus their join."""
    if request.content_length is not None and request.content_length > limit:
        raise BodyTooLarge(f"a message may be at most {limit} bytes")
    body = bytearray()
    async for chunk in request.content.iter_chunked(65536):
        if len(body) + len(chunk) > limit:
            raise BodyTooLarge(f"a message may be at most {limit} bytes")
        body += chunk
    return body
