"""What a publishable key (``pk_...``, shown in web pages) may do, and the CORS answers it needs.

A publishable key is public by design: anyone can read it from the page. So it may ask one
thing, ``POST /v1/validate``, only from the origins it is bound to, at a bounded rate per key
and per client address, and it is answered the verdict without what a stranger should not
learn (suppression entries, detail texts, MX hosts): status, action, reasons, suggestion.

``Origin`` is what a browser says about the page (RFC 6454 §7; the Fetch standard's CORS
protocol). A script outside a browser can send any ``Origin``: the allowlist keeps other
sites' pages from spending the key, and the rate limits bound what anyone else can.
"""

from __future__ import annotations

import ipaddress
import itertools
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from validator.errors import Forbidden, RateLimited
from validator.model import ApiKey, Verdict

CORS_ROUTE = "/v1/validate"
# RFC 6177 and every ISP: a subscriber gets at least a /64, and SLAAC privacy addresses (RFC 8981)
# rotate inside it, so one IPv6 client is a /64, not an address (it could otherwise take a fresh
# per-address bucket for each request, and spend the whole key's budget alone).
CLIENT_PREFIX_V6 = 64
PREFLIGHT_MAX_AGE = 600  # seconds a browser may reuse a preflight answer (Chromium caps it at 7200)
ORIGINS_TTL = 5.0  # seconds a preflight trusts its list of origins: the key cache's own delay
_SWEEP_AT = 10_000  # buckets kept before the full ones are forgotten
MAX_BUCKETS = 100_000  # per-client buckets kept at most: 160 bytes each measured, 16 MB


def public_verdict_json(verdict: Verdict) -> dict[str, Any]:
    """The verdict a web page may see."""
    return {
        "status": verdict.status,
        "action": verdict.action,
        "reasons": verdict.reasons,
        "suggestion": verdict.suggestion,
    }


def cors_headers(origin: str) -> dict[str, str]:
    """Headers letting the page at ``origin`` read the answer (Fetch standard, "CORS protocol")."""
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin", "Access-Control-Expose-Headers": "Retry-After"}


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class TokenBuckets:
    """``limit`` requests per minute per name, in bursts of up to ``limit``. Pure: the caller passes
    the clock. ``take`` answers 0 when allowed, else the seconds until a request would be.

    The names are the callers' (client addresses), so their number is the attacker's choice: a
    sweep of the buckets costs their number and comes only after as many new names again
    (amortised constant time; a sweep on every request past 10,000 names took 16 s of the event
    loop for 20,000 new clients), and past ``MAX_BUCKETS`` the oldest are forgotten. A forgotten
    client gets a fresh burst; the per-key bucket, one name per key, is never among them."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._per_second = limit / 60.0
        self._buckets: dict[str, _Bucket] = {}
        self._sweep_at = _SWEEP_AT

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, name: str, now: float) -> float:
        if len(self._buckets) > self._sweep_at:
            self._sweep(now)
        bucket = self._buckets.setdefault(name, _Bucket(float(self._limit), now))
        bucket.tokens = min(self._limit, bucket.tokens + (now - bucket.at) * self._per_second)
        bucket.at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self._per_second

    def _sweep(self, now: float) -> None:
        """Forget buckets that have refilled (they hold nothing a fresh one would not), then the
        oldest down to half of ``MAX_BUCKETS`` if that is not enough."""
        full_after = self._limit / self._per_second
        for name in [n for n, b in self._buckets.items() if now - b.at >= full_after]:
            del self._buckets[name]
        excess = len(self._buckets) - MAX_BUCKETS // 2
        if excess > 0:
            for name in list(itertools.islice(self._buckets, excess)):
                del self._buckets[name]
        self._sweep_at = min(MAX_BUCKETS, max(_SWEEP_AT, 2 * len(self._buckets)))


def client_of(remote: str) -> str:
    """The name of the client a per-client bucket counts: an IPv4 address, or an IPv6 /64 (an IPv4
    address a dual-stack socket shows as ``::ffff:a.b.c.d`` is that IPv4 address)."""
    try:
        ip = ipaddress.ip_address(remote)
    except ValueError:
        return remote  # not an IP (a Unix socket's peer): one bucket for all, as before
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, CLIENT_PREFIX_V6), strict=False))
    return str(ip)


class PublishableGate:
    """Admits publishable-key requests (origin, then rates) and answers CORS preflights."""

    def __init__(
        self,
        per_key: int,
        per_ip: int,
        list_keys: Callable[[], Awaitable[list[ApiKey]]],
        origins_ttl: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._per_key, self._per_ip = TokenBuckets(per_key), TokenBuckets(per_ip)
        self._list_keys, self._ttl, self._clock = list_keys, origins_ttl, clock
        self._origins: frozenset[str] = frozenset()
        self._origins_until = -math.inf

    def admit(self, key: ApiKey, origin: str | None, client: str) -> None:
        """Raise unless ``key`` may be used from ``origin`` by ``client`` now."""
        if origin is None or origin not in key.origins:
            raise Forbidden("this publishable key may not be used from this origin", field="Origin")
        now = self._clock()
        wait = max(self._per_key.take(f"key:{key.id}", now), self._per_ip.take(f"ip:{client_of(client)}", now))
        if wait > 0:
            raise RateLimited(f"too many validations; retry in {math.ceil(wait)} s", retry_after=math.ceil(wait))

    async def allowed_origins(self) -> frozenset[str]:
        """Every origin some active publishable key is bound to (a preflight names no key)."""
        now = self._clock()
        if now >= self._origins_until:
            keys = await self._list_keys()
            self._origins = frozenset(o for k in keys if k.publishable and not k.revoked for o in k.origins)
            self._origins_until = now + self._ttl
        return self._origins

    def forget_origins(self) -> None:
        """A key was created or revoked here: the next preflight reads the keys again."""
        self._origins_until = -math.inf

    async def preflight(self, request: web.Request) -> web.Response:
        """``OPTIONS /v1/validate``: 204 with CORS headers for a listed origin, else 403 without them."""
        origin = request.headers.get("Origin")
        if origin is None or origin not in await self.allowed_origins():
            raise Forbidden("no publishable key may be used from this origin", field="Origin")
        return web.Response(
            status=204,
            headers={
                **cors_headers(origin),
                "Access-Control-Allow-Methods": "POST",
                "Access-Control-Allow-Headers": "Authorization, Content-Type",
                "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE),
            },
        )
