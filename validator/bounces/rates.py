"""Bounce-rate health: counts of ingested events in, rates with a health level out. Pure.

Denominators (each rate says which it used, so a sender can check the arithmetic):

- ``attempted``: recipients of ``sent`` events; when none were ingested, delivered + bounced
  events stand in (a lower bound: the rates it gives are upper bounds, and say so).
- hard bounce rate = addresses with a ``hard_invalid`` or ``disabled`` bounce ÷ attempted
- chronic soft rate = addresses suppressed as chronic soft bouncers ÷ attempted
- complaint rate = complaining addresses ÷ delivered (mailbox providers compute spam rates on
  delivered mail), or ÷ attempted when no deliveries were ingested
- sender-problem rate = sender-problem bounces ÷ attempted (blocks of our IPs, authentication)
- total bounce rate (account) = every bounce event that was not ignored ÷ attempted
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from validator.bounces.facts import Category, EventKind
from validator.bounces.policy import Outcome
from validator.config import Settings


class Level(StrEnum):
    ACCEPTABLE = "acceptable"
    WARNING = "warning"
    CRITICAL = "critical"
    HEALTHY = "healthy"  # the account-wide levels
    UNHEALTHY = "unhealthy"
    RISKY = "risky"


@dataclass(frozen=True, slots=True)
class Bands:
    """Two limits in percent: at or below ``warning`` is fine, above ``critical`` is the worst band."""

    warning: float
    critical: float


@dataclass(frozen=True, slots=True)
class Thresholds:
    hard_bounce: Bands = Bands(0.5, 1.0)
    chronic_soft: Bands = Bands(1.0, 2.0)
    complaint: Bands = Bands(0.05, 0.1)
    total_bounce: Bands = Bands(2.0, 5.0)  # account-wide: over 2% unhealthy, over 5% risky


def thresholds_from(settings: Settings) -> Thresholds:
    return Thresholds(
        Bands(*settings.health_hard_bounce),
        Bands(*settings.health_chronic_soft),
        Bands(*settings.health_complaint),
        Bands(*settings.health_total_bounce),
    )


@dataclass(frozen=True, slots=True)
class EventCounts:
    sent: int = 0
    delivered: int = 0
    hard_bounces: int = 0
    soft_bounces: int = 0  # soft bounce events
    unresolved_soft_bounces: int = 0  # addresses whose soft streak is still open
    chronic_soft_bounces: int = 0
    complaints: int = 0
    unsubscribes: int = 0
    sender_problems: int = 0
    message_problems: int = 0
    bounces: int = 0  # every bounce event that was not ignored


_HARD = {Category.HARD_INVALID.value, Category.DISABLED.value}
_SOFT = {Category.SOFT_MAILBOX.value, Category.SOFT_TRANSIENT.value}


def tally(groups: Iterable[Any], unresolved_soft: int) -> EventCounts:
    """Sum the store's (event, category, outcome, events, addresses) groups into report counts."""
    c: dict[str, int] = dict.fromkeys(EventCounts.__dataclass_fields__, 0)
    for g in groups:
        if g.event == EventKind.SENT:
            c["sent"] += g.events
        elif g.event == EventKind.DELIVERED:
            c["delivered"] += g.events
        if g.category in _HARD:
            c["hard_bounces"] += g.addresses
        elif g.category in _SOFT:
            c["soft_bounces"] += g.events
            if g.outcome == Outcome.SUPPRESSED:
                c["chronic_soft_bounces"] += g.addresses
        elif g.category == Category.COMPLAINT:
            c["complaints"] += g.addresses
        elif g.category == Category.UNSUBSCRIBE:
            c["unsubscribes"] += g.addresses
        elif g.category == Category.SENDER_PROBLEM:
            c["sender_problems"] += g.events
        elif g.category == Category.MESSAGE_PROBLEM:
            c["message_problems"] += g.events
        if g.event == EventKind.BOUNCE and g.category != Category.IGNORE:
            c["bounces"] += g.events
    c["unresolved_soft_bounces"] = unresolved_soft
    return EventCounts(**c)


def report(counts: EventCounts, thresholds: Thresholds) -> dict[str, Any]:
    """The JSON body of ``GET /v1/reports/bounce-rates`` (also printed by ``validator report``)."""
    attempted, basis = (
        (counts.sent, "sent") if counts.sent else (counts.delivered + counts.bounces, "delivered_plus_bounced")
    )
    delivered, delivered_basis = (counts.delivered, "delivered") if counts.delivered else (attempted, basis)
    return {
        "counts": {name: getattr(counts, name) for name in EventCounts.__dataclass_fields__},
        "rates": {
            "hard_bounce": _rate(counts.hard_bounces, attempted, basis, thresholds.hard_bounce, _CAMPAIGN),
            "chronic_soft_bounce": _rate(
                counts.chronic_soft_bounces, attempted, basis, thresholds.chronic_soft, _CAMPAIGN
            ),
            "complaint": _rate(counts.complaints, delivered, delivered_basis, thresholds.complaint, _CAMPAIGN),
            "sender_problem": _rate(counts.sender_problems, attempted, basis, None, _CAMPAIGN),
            "total_bounce": _rate(counts.bounces, attempted, basis, thresholds.total_bounce, _ACCOUNT),
        },
    }


_CAMPAIGN = (Level.ACCEPTABLE, Level.WARNING, Level.CRITICAL)
_ACCOUNT = (Level.HEALTHY, Level.UNHEALTHY, Level.RISKY)


def _rate(
    count: int, denominator: int, basis: str, bands: Bands | None, levels: tuple[Level, Level, Level]
) -> dict[str, Any]:
    percent = round(100 * count / denominator, 4) if denominator else None
    return {
        "count": count,
        "denominator": denominator,
        "basis": basis,
        "percent": percent,
        "level": None if percent is None or bands is None else level(percent, bands, levels),
        "bands": None if bands is None else {"warning": bands.warning, "critical": bands.critical},
    }


def level(percent: float, bands: Bands, levels: tuple[Level, Level, Level] = _CAMPAIGN) -> Level:
    """Campaign rates: below ``warning`` acceptable ("hard < 0.5%"), up to ``critical`` inclusive
    warning, above it critical. Account: healthy up to 2% inclusive ("over 2% is unhealthy")."""
    if percent < bands.warning or (levels is _ACCOUNT and percent == bands.warning):
        return levels[0]
    return levels[1] if percent <= bands.critical else levels[2]
