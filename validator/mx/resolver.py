"""The MX adapter: ask DNS where a domain's mail goes and answer with one ``MxAnswer``.

Lives here: the resolver (aiodns over c-ares), the translation of its errors into answers,
the TTL-honouring answer cache, and the sharing of one in-flight lookup among concurrent
callers. It raises nothing: every resolver failure becomes an ``MxAnswer`` whose outcome is
``TIMEOUT`` or ``ERROR``.

Must not live here: deciding deliverability (``verdict.py``), IDNA or syntax (``syntax.py``),
HTTP or storage. ``lookup`` takes the ASCII (IDNA) domain.
The queries themselves (c-ares channels, their budget and their errors) are ``queries.py``'s.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from functools import partial

from cachetools import LRUCache

from validator.config import Settings
from validator.model import MxAnswer, MxHost, MxOutcome
from validator.mx.queries import DnsQueries, DnsReply, MxStats, QueryStatus
from validator.netguard import permitted

_MAX_HOSTS = 10  # bound the A/AAAA fan-out of one domain; senders try only the first few anyway


@dataclass(frozen=True, slots=True)
class _Addresses:
    """A and AAAA of one name; ``failure`` is set when they could not be learnt."""

    addresses: tuple[str, ...]
    routable: bool
    ttl: float
    failure: DnsReply | None  # the TIMEOUT or ERROR reply that left routability unknown


class MxResolver:
    """MX lookups with a bounded TTL cache and one in-flight query per domain.

    The c-ares channel is made on the first lookup, so construct it anywhere but use it from
    one event loop; ``await close()`` before that loop ends (c-ares answers arriving after the
    loop closed are reported as unraisable exceptions).
    """

    @property
    def channel_queries(self) -> int:
        """Queries a c-ares channel answers before a new one takes over (bounds c-ares' cache)."""
        return self._queries.channel_queries

    @channel_queries.setter
    def channel_queries(self, value: int) -> None:
        self._queries.channel_queries = value

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        # Bounded LRU caches of (value, monotonic expiry); expiry is checked on read. cachetools'
        # TLRUCache does the same but costs ~3.5 µs a hit against ~0.7 µs; the answers, read on
        # every request, are an OrderedDict kept in LRU order by hand (its order is kept in C): 0.2 µs.
        self._cache: OrderedDict[str, tuple[MxAnswer, float]] = OrderedDict()
        self._hosts: LRUCache[str, tuple[_Addresses, float]] = LRUCache(maxsize=settings.dns_cache_size)
        self._inflight: dict[str, asyncio.Task[MxAnswer]] = {}
        self.stats = MxStats()
        self._queries = DnsQueries(settings, self.stats)

    def cached(self, domain: str) -> MxAnswer | None:
        """The cached answer with its remaining TTL, or None; never awaits (the hot path)."""
        key = domain.lower().rstrip(".")
        entry = self._cache.get(key)
        if entry is None:
            return None
        self._cache.move_to_end(key)
        remaining = entry[1] - time.monotonic()
        if remaining <= 0:
            return None
        self.stats.cache_hits += 1
        answer = entry[0]  # built directly: dataclasses.replace costs several times more on this path
        return MxAnswer(answer.domain, answer.outcome, answer.hosts, remaining, answer.detail)

    async def lookup(self, domain: str, bulk: bool = False) -> MxAnswer:
        """Where mail for ``domain`` goes. Never raises for DNS trouble: it answers TIMEOUT or ERROR.

        ``bulk`` (a job's lookup) queues its queries in the bulk lane of the query budget, behind
        real-time ones (``PrioritySlots``); a real-time caller joining a bulk lookup already in
        flight for the same domain shares it.
        """
        key = domain.lower().rstrip(".")
        hit = self.cached(key)
        if hit is not None:
            return hit
        self.stats.cache_misses += 1
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._resolve_and_store(key, bulk))
            self._inflight[key] = task
            task.add_done_callback(partial(self._forget, key))
        else:
            self.stats.shared += 1
        # shield: a caller that gives up must not cancel the lookup the other callers await
        return await asyncio.shield(task)

    def _forget(self, key: str, task: asyncio.Task[MxAnswer]) -> None:
        if self._inflight.get(key) is task:
            del self._inflight[key]

    async def close(self) -> None:
        """Fail pending queries (their lookups answer ERROR), wait for them, release c-ares."""
        self._queries.cancel()
        pending = list(self._inflight.values())
        if pending:
            await asyncio.wait(pending, timeout=self._queries.budget * 2 + 1)
        await self._queries.close()

    # -- resolution ------------------------------------------------------------------------------

    async def _resolve_and_store(self, key: str, bulk: bool) -> MxAnswer:
        try:
            answer = await self._resolve(key, bulk)
        except Exception as exc:  # noqa: BLE001 - a bug here must still answer "unknown", not crash a request
            answer = MxAnswer(key, MxOutcome.ERROR, detail=f"internal error: {exc!r}")
        settings = self._settings
        failed = answer.outcome in (MxOutcome.TIMEOUT, MxOutcome.ERROR)
        limit = settings.dns_error_ttl if failed else settings.dns_max_ttl
        ttl = max(0.0, min(answer.ttl, limit))
        answer = replace(answer, ttl=ttl)
        if ttl > 0:
            self._cache[key] = (answer, time.monotonic() + ttl)
            self._cache.move_to_end(key)
            if len(self._cache) > settings.dns_cache_size:
                self._cache.popitem(last=False)  # the least recently used
        return answer

    async def _resolve(self, domain: str, bulk: bool) -> MxAnswer:
        negative_ttl = self._settings.dns_negative_ttl
        reply = await self._queries.ask(domain, "MX", bulk)
        if reply.status is QueryStatus.NXDOMAIN:
            return MxAnswer(domain, MxOutcome.NO_SUCH_DOMAIN, ttl=negative_ttl)
        if reply.status in (QueryStatus.TIMEOUT, QueryStatus.ERROR):
            return _failed(domain, reply)
        if reply.status is QueryStatus.NODATA:
            return await self._implicit(domain, bulk)
        # RFC 7505 §3: a null MX is a lone MX whose exchange is "." (c-ares renders it "");
        # like email-validator, any other MX beside it wins.
        exchanges: dict[str, int] = {}
        for preference, host in sorted(reply.data):
            if host and host != "." and host not in exchanges:
                exchanges[host] = preference
        if not exchanges:
            return MxAnswer(domain, MxOutcome.NULL_MX, ttl=reply.ttl)
        return await self._exchanges(domain, list(exchanges.items())[:_MAX_HOSTS], reply.ttl, bulk)

    async def _exchanges(self, domain: str, exchanges: list[tuple[str, int]], mx_ttl: float, bulk: bool) -> MxAnswer:
        """Resolve every exchange; unknown routability is trouble, not unroutability."""
        found = await self._addresses(*(host for host, _ in exchanges), bulk=bulk)
        hosts = tuple(
            MxHost(host, preference, a.addresses, a.routable)
            for (host, preference), a in zip(exchanges, found, strict=True)
        )
        ttl = min([mx_ttl, *(a.ttl for a in found)])
        failures = [a.failure for a in found if a.failure is not None]
        if any(h.routable for h in hosts):
            if failures or any(not a.addresses for a in found):
                ttl = min(ttl, self._settings.dns_negative_ttl)  # partly built on absence of data
            return MxAnswer(domain, MxOutcome.MX, hosts, ttl=ttl)
        if failures:
            timeouts = [f for f in failures if f.status is QueryStatus.TIMEOUT]
            return _failed(domain, (timeouts or failures)[0])
        if any(not a.addresses for a in found):
            ttl = min(ttl, self._settings.dns_negative_ttl)
        return MxAnswer(domain, MxOutcome.MX, hosts, ttl=ttl)  # answer.unroutable is True

    async def _implicit(self, domain: str, bulk: bool) -> MxAnswer:
        """RFC 5321 §5.1: without MX records, the domain itself is the implicit MX."""
        (found,) = await self._addresses(domain, bulk=bulk)
        ttl = min(found.ttl, self._settings.dns_negative_ttl)  # rests on the absence of MX
        if found.routable:
            host = MxHost(domain, 0, found.addresses, routable=True)
            return MxAnswer(domain, MxOutcome.IMPLICIT, (host,), ttl=ttl)
        if found.failure is not None:
            return _failed(domain, found.failure)
        return MxAnswer(domain, MxOutcome.NO_MX, ttl=ttl)

    async def _addresses(self, *hosts: str, bulk: bool) -> list[_Addresses]:
        """A and AAAA of every host at once; a global address settles routability even if the other failed.

        Hosts are cached on their own: most domains share a few providers' exchanges, and a
        hit here saves two resolver round trips through c-ares per domain.
        """
        now = time.monotonic()
        found = {
            h: replace(e[0], ttl=e[1] - now) for h in hosts if (e := self._hosts.get(h)) is not None and e[1] > now
        }
        missing = [h for h in hosts if h not in found]
        replies = await asyncio.gather(
            *(self._queries.ask(host, qtype, bulk) for host in missing for qtype in ("A", "AAAA"))
        )
        for host, v4, v6 in zip(missing, replies[::2], replies[1::2], strict=True):
            addresses = v4.data + v6.data
            # the network guard's rule: a global unicast address, or one the operator allowlisted
            routable = any(permitted(a, self._settings.smtp_allow_networks) for a in addresses)
            failed = [r for r in (v4, v6) if r.status in (QueryStatus.TIMEOUT, QueryStatus.ERROR)]
            failure = failed[0] if failed and not routable else None
            found[host] = _Addresses(addresses, routable, min(v4.ttl, v6.ttl), failure)
            ttl = min(v4.ttl, v6.ttl, self._settings.dns_max_ttl)
            if not addresses:
                ttl = min(ttl, self._settings.dns_negative_ttl)
            if not failed and ttl > 0:
                self._hosts[host] = (found[host], time.monotonic() + ttl)
        return [found[h] for h in hosts]


def _failed(domain: str, reply: DnsReply) -> MxAnswer:
    outcome = MxOutcome.TIMEOUT if reply.status is QueryStatus.TIMEOUT else MxOutcome.ERROR
    return MxAnswer(domain, outcome, detail=reply.detail, ttl=math.inf)
