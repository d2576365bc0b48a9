"""The prober's limits that must hold over every replica: connections per MX host, probes per
recipient domain, and the hosts that refused the prober.

``ProbeLimits`` is what the prober needs; ``LocalLimits`` keeps them in this process (one
replica: the pool's own counters already cap connections, so it grants every lease).
``limits_redis.RedisLimits`` (``VALIDATOR_REDIS_URL``) and
``limits_postgres.PostgresLimits`` (a ``postgresql://`` store) share them, so N replicas
never open N times the connections to one host or send N times the RCPT TO to one domain.
``open_limits`` picks one. Shared leases expire (``LEASE_SECONDS``) unless renewed, so a replica
that dies holds nothing for long.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from validator.config import Settings
from validator.probe.ratelimit import DomainRate

LEASE_SECONDS = 15.0  # a connection lease not renewed for this long is free again
WANTED_SECONDS = 1.0  # "another replica waits for a connection to this host" lasts this long


@dataclass(frozen=True, slots=True)
class Reservation:
    """Probes a domain's rate let through: send after ``wait`` seconds; ``slots`` for ``release``."""

    wait: float
    slots: tuple[object, ...]


@dataclass(frozen=True, slots=True)
class Refusal:
    """A host's refusal of the prober, as other replicas are told it."""

    code: int | None
    enhanced: str | None
    text: str
    seconds_left: float


class ProbeLimits(Protocol):
    shared: bool  # True when other replicas see the same limits

    async def reserve(self, domain: str, count: int, within: float) -> Reservation | None:
        """``count`` probes at ``domain`` within ``within`` seconds, or None (throttled)."""

    async def release(self, domain: str, reservation: Reservation) -> None:
        """Give back a reservation whose probes were never sent."""

    async def open_connection(self, host: str, cap: int) -> str | None:
        """A lease for one more connection to ``host``, or None when ``cap`` are open already."""

    async def close_connection(self, host: str, lease: str) -> None: ...

    async def renew(self, leases: Sequence[tuple[str, str]]) -> None:
        """Keep the (host, lease) pairs of sessions still open."""

    async def wanted(self, hosts: Sequence[str]) -> set[str]:
        """Those of ``hosts`` for which another replica waits for a connection lease."""

    async def block(self, host: str, refusal: Refusal) -> None:
        """``host`` refused the prober: every replica leaves it alone for ``refusal.seconds_left``."""

    async def blocked(self, host: str) -> Refusal | None: ...

    async def close(self) -> None: ...


class LocalLimits:
    """Limits of this process alone (the single-process default)."""

    shared = False

    def __init__(self, settings: Settings) -> None:
        self._rate = DomainRate(settings.smtp_domain_rate)
        self._blocked: dict[str, tuple[Refusal, float]] = {}

    async def reserve(self, domain: str, count: int, within: float) -> Reservation | None:
        now = time.monotonic()
        slots = self._rate.reserve(domain, count, now, now + within)
        return None if slots is None else Reservation(max(slots) - now, tuple(slots))

    async def release(self, domain: str, reservation: Reservation) -> None:
        self._rate.release(domain, [float(at) for at in reservation.slots])  # type: ignore[arg-type]

    async def open_connection(self, host: str, cap: int) -> str | None:
        return ""

    async def close_connection(self, host: str, lease: str) -> None:
        return None

    async def renew(self, leases: Sequence[tuple[str, str]]) -> None:
        return None

    async def wanted(self, hosts: Sequence[str]) -> set[str]:
        return set()

    async def block(self, host: str, refusal: Refusal) -> None:
        return None  # the pool remembers it; nobody else to tell

    async def blocked(self, host: str) -> Refusal | None:
        return None

    async def close(self) -> None:
        return None


def open_limits(settings: Settings) -> ProbeLimits:
    """Redis when ``VALIDATOR_REDIS_URL`` is set, else the PostgreSQL store when there is one,
    else this process's memory. Connections are made lazily, on first use."""
    if settings.redis_url:
        from validator.probe.limits_redis import RedisLimits

        return RedisLimits(settings)
    if settings.database_url.startswith(("postgresql://", "postgres://")):
        from validator.probe.limits_postgres import PostgresLimits

        return PostgresLimits(settings)
    return LocalLimits(per_process(settings))


def per_process(settings: Settings) -> Settings:
    """The limits are the service's; with ``VALIDATOR_WORKERS`` processes each gets its share (at least 1)."""
    n = settings.workers
    if n <= 1:
        return settings
    return dataclasses.replace(
        settings,
        smtp_max_connections=max(1, settings.smtp_max_connections // n),
        smtp_max_connections_per_host=max(1, settings.smtp_max_connections_per_host // n),
        smtp_domain_rate=max(1, settings.smtp_domain_rate // n),
    )
