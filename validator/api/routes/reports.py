"""Read routes over ingested events, for the dashboard: the campaigns seen, and a campaign's
bounces and complaints with the reply each got ("view bounce reasons"). Scope ``reports:read``."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from validator.api import app_keys as keys
from validator.api.middleware import json_response
from validator.errors import InvalidField, UnknownField
from validator.store.event_reads import EVENTS_MAX, StoredEvent
from validator.wire.validation import iso_time, parse_limit

routes = web.RouteTableDef()
_EVENT_PARAMS = frozenset({"campaign_id", "cursor", "limit"})


def event_json(event: StoredEvent) -> dict[str, Any]:
    return {
        "address": event.address,
        "event": event.event,
        "category": event.category,
        "action": event.outcome,
        "reason": event.reason,
        "status": event.status,
        "reply_code": event.reply_code,
        "diagnostic": event.diagnostic,
        "remote_mta": event.remote_mta,
        "campaign_id": event.campaign_id,
        "occurred_at": iso_time(event.occurred_at),
    }


@routes.get("/v1/reports/campaigns")
async def campaigns(request: web.Request) -> web.Response:
    found = await request.app[keys.STORE].list_campaigns()
    return json_response(
        {
            "items": [
                {
                    "campaign_id": c.campaign_id,
                    "events": c.events,
                    "bounces": c.bounces,
                    "complaints": c.complaints,
                    "first_at": iso_time(c.first_at),
                    "last_at": iso_time(c.last_at),
                }
                for c in found
            ]
        }
    )


@routes.get("/v1/events")
async def events(request: web.Request) -> web.Response:
    """Bounces and complaints, newest first; ``next_cursor`` pages on."""
    query = request.query
    unknown = sorted(set(query) - _EVENT_PARAMS)
    if unknown:
        raise UnknownField(f"unknown query parameter {unknown[0]!r}", field=unknown[0])
    limit = parse_limit(query, EVENTS_MAX)
    cursor = query.get("cursor")
    if cursor is not None and not (cursor.isascii() and cursor.isdigit() and len(cursor) <= 18):  # "²" is a digit
        raise InvalidField("not a cursor from a previous page", field="cursor")
    found = await request.app[keys.STORE].list_events(
        query.get("campaign_id") or None, int(cursor) if cursor else None, limit + 1
    )
    more = len(found) > limit
    return json_response(
        {"items": [event_json(e) for e in found[:limit]], "next_cursor": str(found[limit - 1].id) if more else None}
    )
