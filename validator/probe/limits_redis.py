"""The prober's shared limits in Redis (``VALIDATOR_REDIS_URL``), for replicas of the service.

Each decision is one Lua script, so it is atomic across replicas, and reads the clock of the
Redis server (``TIME``), so replicas whose clocks differ still agree:

* ``probe:rate:<domain>``: a sorted set of reserved send times (the sliding window of
  ``ratelimit``, reservations ahead of time included); a reservation that is never used is removed.
* ``probe:conn:<host>``: a sorted set of connection leases scored by their expiry; renewed while the
  session is open, so a replica that dies frees its leases within ``LEASE_SECONDS``.
* ``probe:wanted:<host>``: set for ``WANTED_SECONDS`` when a replica found every lease taken, so
  the others close their idle sessions to that host.
* ``probe:block:<host>``: a host's refusal of the prober, expiring with the backoff.

When Redis cannot be reached the limits of this process are used instead (logged): probing goes
on as a single replica would, rather than failing every request.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence

import orjson
import redis.asyncio as redis
from redis.exceptions import RedisError

from validator.config import Settings
from validator.probe.limits import LEASE_SECONDS, WANTED_SECONDS, LocalLimits, Refusal, Reservation
from validator.probe.ratelimit import WINDOW

log = logging.getLogger("validator.probe.prober")
_PREFIX = "validator:probe:"

_NOW = "local t = redis.call('TIME') local now = tonumber(t[1]) + tonumber(t[2]) / 1000000 "
# KEYS: rate set. ARGV: limit, count, within, window, member prefix. Returns {wait, members...} or {}.
_RESERVE = (
    _NOW
    + """
local key, limit, count = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])
local within, window = tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local all = redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')
local times, slots = {}, {}
for i = 2, #all, 2 do times[#times + 1] = tonumber(all[i]) end
for c = 1, count do
  local at = now
  if #times > 0 then at = math.max(at, times[#times]) end
  if #times >= limit then at = math.max(at, times[#times - limit + 1] + window) end
  if at > now + within then return {} end
  times[#times + 1] = at
  slots[#slots + 1] = at
end
local out = {tostring(slots[#slots] - now)}
for i, at in ipairs(slots) do
  local member = ARGV[5] .. ':' .. i
  redis.call('ZADD', key, at, member)
  out[#out + 1] = member
end
redis.call('PEXPIRE', key, math.ceil((window + within) * 1000) + 1000)
return out
"""
)
# KEYS: lease set, wanted flag. ARGV: cap, lease seconds, lease, wanted seconds. Returns 1 or 0.
_OPEN = (
    _NOW
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2]) * 1000))
  return 1
end
redis.call('SET', KEYS[2], '1', 'PX', math.ceil(tonumber(ARGV[4]) * 1000))
return 0
"""
)
# KEYS: lease set. ARGV: lease seconds, leases... Moves the expiry of leases still held.
_RENEW = (
    _NOW
    + """
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[1]) * 1000))
return 0
"""
)


class RedisLimits:
    shared = True

    def __init__(self, settings: Settings) -> None:
        self._limit = settings.smtp_domain_rate
        self._redis = redis.from_url(settings.redis_url, socket_timeout=1.0, socket_connect_timeout=1.0)
        self._reserve = self._redis.register_script(_RESERVE)
        self._open = self._redis.register_script(_OPEN)
        self._renew = self._redis.register_script(_RENEW)
        self._local = LocalLimits(settings)
        self._warned = False

    async def reserve(self, domain: str, count: int, within: float) -> Reservation | None:
        try:
            out = await self._reserve(
                keys=[f"{_PREFIX}rate:{domain}"],
                args=[self._limit, count, max(within, 0.0), WINDOW, secrets.token_hex(8)],
            )
        except (RedisError, OSError) as exc:
            self._degraded(exc)
            return await self._local.reserve(domain, count, within)
        if not out:
            return None
        return Reservation(float(out[0]), tuple(m.decode() for m in out[1:]))

    async def release(self, domain: str, reservation: Reservation) -> None:
        members = [m for m in reservation.slots if isinstance(m, str)]
        if not members:
            return await self._local.release(domain, reservation)
        try:
            await self._redis.zrem(f"{_PREFIX}rate:{domain}", *members)
        except (RedisError, OSError) as exc:
            self._degraded(exc)

    async def open_connection(self, host: str, cap: int) -> str | None:
        lease = secrets.token_hex(8)
        try:
            taken = await self._open(
                keys=[f"{_PREFIX}conn:{host}", f"{_PREFIX}wanted:{host}"],
                args=[cap, LEASE_SECONDS, lease, WANTED_SECONDS],
            )
        except (RedisError, OSError) as exc:
            self._degraded(exc)
            return ""  # this process's own cap still holds
        return lease if taken else None

    async def close_connection(self, host: str, lease: str) -> None:
        try:
            await self._redis.zrem(f"{_PREFIX}conn:{host}", lease)
        except (RedisError, OSError) as exc:
            self._degraded(exc)

    async def renew(self, leases: Sequence[tuple[str, str]]) -> None:
        by_host: dict[str, list[str]] = {}
        for host, lease in leases:
            by_host.setdefault(host, []).append(lease)
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for host, held in by_host.items():
                    await self._renew(keys=[f"{_PREFIX}conn:{host}"], args=[LEASE_SECONDS, *held], client=pipe)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            self._degraded(exc)

    async def wanted(self, hosts: Sequence[str]) -> set[str]:
        if not hosts:
            return set()
        try:
            flags = await self._redis.mget([f"{_PREFIX}wanted:{host}" for host in hosts])
        except (RedisError, OSError) as exc:
            self._degraded(exc)
            return set()
        return {host for host, flag in zip(hosts, flags, strict=True) if flag is not None}

    async def block(self, host: str, refusal: Refusal) -> None:
        value = orjson.dumps({"code": refusal.code, "enhanced": refusal.enhanced, "text": refusal.text})
        try:
            await self._redis.set(f"{_PREFIX}block:{host}", value, px=max(1, int(refusal.seconds_left * 1000)))
        except (RedisError, OSError) as exc:
            self._degraded(exc)

    async def blocked(self, host: str) -> Refusal | None:
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.get(f"{_PREFIX}block:{host}")
                pipe.pttl(f"{_PREFIX}block:{host}")
                value, left = await pipe.execute()
        except (RedisError, OSError) as exc:
            self._degraded(exc)
            return None
        if value is None or left is None or left <= 0:
            return None
        fields = orjson.loads(value)
        return Refusal(fields.get("code"), fields.get("enhanced"), str(fields.get("text", "")), left / 1000)

    async def close(self) -> None:
        await self._redis.aclose()

    def _degraded(self, exc: Exception) -> None:
        if not self._warned:
            self._warned = True
            log.warning("Redis unreachable, the prober's limits are this process's own until it answers: %s", exc)
