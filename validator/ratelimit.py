"""A sliding-window rate limit per key (per recipient domain for the prober), reserved ahead of time.

Pure: the caller passes the clock, so the rule is tested with plain numbers. ``reserve`` says when
the requested sends may happen, or that the slot would come after the caller's deadline;
reservations are recorded at once, so a burst of concurrent callers can never exceed the limit
between them, and ``release`` gives back a reservation that was never used (a probe whose RCPT TO
was never sent does not spend the domain's budget).
"""

from __future__ import annotations

from collections import deque

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
        slots = []
        for _ in range(count):
            at = max(now, times[-1]) if times else now  # reservations stay in time order
            if len(times) >= self._limit:
                at = max(at, times[-self._limit] + WINDOW)  # the window before `at` must have room
            if at > deadline:
                for _ in slots:
                    times.pop()
                return None
            times.append(at)
            slots.append(at)
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
