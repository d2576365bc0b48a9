"""Wire shapes of bounce ingestion: one decision as JSON, and the report's query filters."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from validator.bounces.plan import Decision
from validator.errors import UnknownField
from validator.suppressions.keys import parse_time

_REPORT_PARAMS = ("campaign_id", "sender", "since", "until")


def decision_json(decision: Decision) -> dict[str, Any]:
    record, fact = decision.record, decision.record.fact
    return {
        "recipient": fact.recipient,
        "recipient_inferred": fact.recipient_inferred,
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


def report_filters(query: Mapping[str, str]) -> dict[str, Any]:
    unknown = sorted(set(query) - set(_REPORT_PARAMS))
    if unknown:
        raise UnknownField(f"unknown query parameter {unknown[0]!r}", field=unknown[0])
    filters: dict[str, Any] = {name: query.get(name) or None for name in ("campaign_id", "sender")}
    for name in ("since", "until"):
        filters[name] = parse_time(query[name], name) if name in query else None
    return filters
