"""Bounce-ingestion routes: events, raw bounces, ESP webhooks in; the bounce-rate report out.

Each ingestion route reads facts (``validator.bounces`` readers), hands them to the
``Ingestor`` (one store transaction: acknowledged means committed), and answers per recipient
with what was derived and done, so a sender can audit every decision.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from aiohttp import web

from ..errors import UnknownField
from ..health import report, tally
from ..store.ingest_records import Decision
from ..suppression import parse_time
from . import keys
from .middleware import json_response

routes = web.RouteTableDef()
_REPORT_PARAMS = ("campaign_id", "sender", "since", "until")


def decision_json(decision: Decision) -> dict[str, Any]:
    record, fact = decision.record, decision.record.fact
    return {
        "recipient": fact.recipient,
        "address": record.address or None,
        "event": fact.event,
        "reason": fact.reason,
        "status": fact.status,
        "status_source": fact.status_source,
        "reply_code": fact.reply_code,
        "diagnostic": fact.diagnostic,
        "category": record.category,
        "action": decision.outcome,
        "suppressed_as": decision.suppressed_as,
        "soft_streak": decision.streak.sends if decision.streak is not None else None,
        "message_id": fact.message_id,
    }


def ingest_response(decisions: Sequence[Decision], **extra: Any) -> web.Response:
    actions = Counter(d.outcome.value for d in decisions)
    return json_response({"count": len(decisions), "actions": dict(sorted(actions.items())), **extra,
                          "results": [decision_json(d) for d in decisions]})


def report_filters(query: Mapping[str, str]) -> dict[str, Any]:
    unknown = sorted(set(query) - set(_REPORT_PARAMS))
    if unknown:
        raise UnknownField(f"unknown query parameter {unknown[0]!r}", field=unknown[0])
    filters: dict[str, Any] = {name: query.get(name) or None for name in ("campaign_id", "sender")}
    for name in ("since", "until"):
        filters[name] = parse_time(query[name], name) if name in query else None
    return filters


@routes.get("/v1/reports/bounce-rates")
async def bounce_rates(request: web.Request) -> web.Response:
    filters = report_filters(request.query)
    groups, open_soft = await request.app[keys.STORE].count_events(**filters)
    body = report(tally(groups, open_soft), request.app[keys.THRESHOLDS])
    return json_response({"filters": {k: (v.isoformat() if hasattr(v, "isoformat") else v)
                                      for k, v in filters.items()}, **body})
