"""Reading ingested delivery events back: the campaigns seen, and a campaign's bounces and complaints.

What the dashboard shows under "bounce reasons": each address with its category, reason and the
SMTP reply it got. The SQL is written once with ``?`` marks; PostgreSQL gets them numbered.
Timestamps come back as each backend stores them and are converted by ``convert``. No I/O here.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

EVENTS_MAX = 500  # rows per page of GET /v1/events
CAMPAIGNS_MAX = 1000  # campaigns listed, most recently active first


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One bounce or complaint as ingested (``delivery_events``)."""

    id: int
    address: str
    event: str
    category: str
    outcome: str
    reason: str | None
    status: str | None  # the enhanced status code, e.g. 5.1.1
    reply_code: int | None
    diagnostic: str | None  # the reply text as the remote server wrote it
    remote_mta: str | None
    campaign_id: str | None
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class CampaignSummary:
    campaign_id: str
    events: int
    bounces: int
    complaints: int
    first_at: datetime
    last_at: datetime


CAMPAIGNS_SQL = (
    "SELECT campaign_id, COUNT(*), SUM(CASE WHEN event = 'bounce' THEN 1 ELSE 0 END),"
    " SUM(CASE WHEN event = 'complaint' THEN 1 ELSE 0 END), MIN(occurred_at), MAX(occurred_at)"
    " FROM delivery_events WHERE campaign_id IS NOT NULL GROUP BY campaign_id"
    " ORDER BY MAX(occurred_at) DESC, campaign_id LIMIT ?"
)
_EVENT_COLUMNS = (
    "id, address, event, category, outcome, reason, status, reply_code, diagnostic, remote_mta,"
    " campaign_id, occurred_at"
)


def events_query(campaign_id: str | None, before_id: int | None, limit: int) -> tuple[str, list[Any]]:
    """Bounces and complaints, newest first (by ingestion order), ``id < before_id`` for the next page."""
    where: list[str] = ["event IN ('bounce', 'complaint')"]
    params: list[Any] = []
    if campaign_id is not None:
        where.append("campaign_id = ?")
        params.append(campaign_id)
    if before_id is not None:
        where.append("id < ?")
        params.append(before_id)
    return (
        f"SELECT {_EVENT_COLUMNS} FROM delivery_events WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ?",
        [*params, limit],
    )


def numbered(sql: str) -> str:
    """``?`` marks as PostgreSQL's ``$1, $2, ...`` (the SQL above has no ``?`` inside literals)."""
    counter = itertools.count(1)
    return re.sub(r"\?", lambda _: f"${next(counter)}", sql)


def stored_event(row: Sequence[Any], convert: Callable[[Any], datetime]) -> StoredEvent:
    return StoredEvent(*row[:11], convert(row[11]))  # type: ignore[call-arg] # the 11 columns, then the time


def campaign_summary(row: Sequence[Any], convert: Callable[[Any], datetime]) -> CampaignSummary:
    return CampaignSummary(row[0], int(row[1]), int(row[2]), int(row[3]), convert(row[4]), convert(row[5]))
