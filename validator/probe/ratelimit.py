"""A sliding-window rate limit per key (per recipient domain for the prober), reserved ahead of time.

Pure: the caller passes the clock, so the rule is tested with plain numbers. ``reserve`` says when
the requested sends may happen, or that the slot would come after the caller's deadline;
reservations are recorded at once, so a burst of concurrent callers can never exceed the limit
between them, and ``release`` gives back a reservation that was never used (a probe whose RCPT TO
was never sent does not spend the domain's budget).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

WINDOW = 60.0  # seconds (VALIDATOR_SMTP_DOMAIN_RATE is per minute)
_SWEEP_AT = 10_000  # keys tracked before the idle ones are forgotten


class DomainRate:
    """At most ``limit`` probes per domain in any ``WINDOW`` seconds, reserved ahead of time."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._sent: dict[str, deque[float]] = {}

    def reserve(self, domain: str, count: int, now: float, deadline: float) -> list[float] | None:
        """The times the ``count`` probes may be sent, or None when the last is past the deadline."""
        if len(self._sent) > _SWEEP_AT:
            self._sweep(now)
        times = self._sent.setdefault(domain, deque())
        while times and times[0] <= now - WINDOW:
            times.popleft()
        slots = plan_slots(times, self._limit, count, now, deadline)
        times.extend(slots or ())
        return slots

    def release(self, domain: str, slots: list[float]) -> None:
        """Give back reserved slots that were not used."""
        times = self._sent.get(domain)
        for at in slots:
            if times is not None and at in times:
                times.remove(at)

    def _sweep(self, now: float) -> None:
        """Forget domains with nothing in the window, so the table stays bounded."""
        for domain in [d for d, times in self._sent.items() if not times or times[-1] <= now - WINDOW]:
            del self._sent[domain]


def plan_slots(times: Sequence[float], limit: int, count: int, now: float, deadline: float) -> list[float] | None:
    """When ``count`` more sends may happen, given the reserved ``times`` (ascending, none older than
    the window), so that no ``WINDOW`` ever holds more than ``limit``; None when one is past ``deadline``."""
    planned = list(times)
    slots = []
    for _ in range(count):
        at = max(now, planned[-1]) if planned else now  # reservations stay in time order
        if len(planned) >= limit:
            at = max(at, planned[-limit] + WINDOW)  # the window before `at` must have room
        if at > deadline:
            return None
        planned.append(at)
        slots.append(at)
    return slots
