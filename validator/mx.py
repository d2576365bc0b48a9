"""The MX adapter: ask DNS where a domain's mail goes and answer with one ``MxAnswer``.

Lives here: the resolver (aiodns over c-ares), the translation of its errors into answers,
the TTL-honouring answer cache, and the sharing of one in-flight lookup among concurrent
callers. This is the only module that knows aiodns/pycares exist (STYLE.md: translate at
the edge); nothing it raises comes from them, because it raises nothing: every resolver
failure becomes an ``MxAnswer`` whose outcome is ``TIMEOUT`` or ``ERROR``.

Must not live here: deciding deliverability (``verdict.py``), IDNA or syntax (``syntax.py``),
HTTP or storage. ``lookup`` takes the ASCII (IDNA) domain.

Resolver facts this module relies on, measured against c-ares 1.34 / pycares 5 / aiodns 4:
- a null MX's exchange "." comes back as the empty string;
- every answer record carries its TTL, but NXDOMAIN and NODATA arrive as bare error codes:
  the SOA of a negative answer is not exposed, so negative answers are cached for
  ``dns_negative_ttl`` (c-ares itself still honours the SOA minimum in its own cache);
- c-ares keeps its own TTL-honouring query cache (pycares offers no switch), so a repeated
  query may never reach the network; a call answered from it still costs ~70 µs of CPU,
  which is why MX hosts shared by many domains get a small cache of their own here. That
  cache has no size bound: measured ~1.9 KB of RSS per distinct query (a job over 20,000
  domains, 60,000 queries: +112 MiB), kept up to an hour, so a channel is retired after
  ``CHANNEL_QUERIES`` queries (see ``MxResolver._resolver``);
- c-ares chooses per-try timeouts itself: a new channel waits ``dns_timeout`` for its first try,
  but once a server has answered fast it adapts them down to 250 ms and drops later replies
  (measured: after 20 answers in under 1 ms, a server answering in 0.8 s was reported as a
  timeout after 529 ms with ``timeout=2.0, tries=2``). So a query c-ares gives up on before
  ``dns_timeout`` is asked again on a second, "patient" channel that only ever sees such
  queries, and ``dns_timeout * dns_tries`` is enforced here as the query's whole budget:
  ``dns_timeout`` is reported only after that many seconds without an answer.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass, replace
from enum import Enum
from functools import partial
from typing import Any

import aiodns
import aiodns.error
import pycares
from cachetools import LRUCache

from validator.config import Settings
from validator.model import MxAnswer, MxHost, MxOutcome
from validator.netguard import permitted
from validator.priority import PrioritySlots

CHANNEL_QUERIES = 10_000  # queries a c-ares channel answers before a new one takes over: its cache under ~20 MiB
_MAX_HOSTS = 10  # bound the A/AAAA fan-out of one domain; senders try only the first few anyway


class _Status(Enum):
    OK = "ok"
    NXDOMAIN = "nxdomain"
    NODATA = "nodata"  # the name exists, without records of this type (RFC 2308 §2.2)
    TIMEOUT = "timeout"
    ERROR = "error"


# c-ares status codes that are answers, not trouble; everything else is ERROR.
_ARES_STATUS = {
    aiodns.error.ARES_ENOTFOUND: _Status.NXDOMAIN,
    aiodns.error.ARES_ENODATA: _Status.NODATA,
    aiodns.error.ARES_ETIMEOUT: _Status.TIMEOUT,
}


@dataclass(frozen=True, slots=True)
class _Reply:
    """One query's result: record data of the asked type, and the smallest TTL seen."""

    status: _Status
    data: tuple[Any, ...] = ()
    ttl: float = math.inf
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class _Addresses:
    """A and AAAA of one name; ``failure`` is set when they could not be learnt."""

    addresses: tuple[str, ...]
    routable: bool
    ttl: float
    failure: _Reply | None  # the TIMEOUT or ERROR reply that left routability unknown


@dataclass(slots=True)
class MxStats:
    """Counters for metrics; they only grow."""

    cache_hits: int = 0
    cache_misses: int = 0
    queries_sent: int = 0  # handed to c-ares, which may answer repeats from its own cache
    channels: int = 0  # c-ares channels made, one per CHANNEL_QUERIES queries
    shared: int = 0  # misses that joined a lookup already in flight


class MxResolver:
    """MX lookups with a bounded TTL cache and one in-flight query per domain.

    The c-ares channel is made on the first lookup, so construct it anywhere but use it from
    one event loop; ``await close()`` before that loop ends (c-ares answers arriving after the
    loop closed are reported as unraisable exceptions).
    """

    channel_queries = CHANNEL_QUERIES

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._budget = settings.dns_timeout * settings.dns_tries
        # Bounded LRU caches of (value, monotonic expiry); expiry is checked on read. cachetools'
        # TLRUCache does the same but costs ~3.5 µs a hit against ~0.7 µs, on every request.
        self._cache: LRUCache[str, tuple[MxAnswer, float]] = LRUCache(maxsize=settings.dns_cache_size)
        self._hosts: LRUCache[str, tuple[_Addresses, float]] = LRUCache(maxsize=settings.dns_cache_size)
        self._inflight: dict[str, asyncio.Task[MxAnswer]] = {}
        # bulk jobs' queries never take more than job_dns_max_inflight of them, and wait behind real-time ones
        self._slots = PrioritySlots(settings.dns_max_inflight, settings.job_dns_max_inflight)
        self._dns: aiodns.DNSResolver | None = None  # made on first use, inside the running loop
        self._dns_left = 0  # queries the current channel may still take
        self._patient: aiodns.DNSResolver | None = None  # asks again what the fast channel gave up on early
        self._retired: set[asyncio.Task[None]] = set()  # old channels, closed once their queries are done
        self._closed = False
        self.stats = MxStats()

    def cached(self, domain: str) -> MxAnswer | None:
        """The cached answer with its remaining TTL, or None; never awaits (the hot path)."""
        key = domain.lower().rstrip(".")
        entry = self._cache.get(key)
        if entry is None:
            return None
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
        self._closed = True
        for channel in (self._dns, self._patient):
            if channel is not None:
                channel.cancel()
        pending = list(self._inflight.values())
        if pending:
            await asyncio.wait(pending, timeout=self._budget * 2 + 1)
        for task in self._retired:
            task.cancel()
        await asyncio.gather(*self._retired, return_exceptions=True)
        for channel in (self._dns, self._patient):
            if channel is not None:
                await channel.close()
        self._dns = self._patient = None

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
        return answer

    async def _resolve(self, domain: str, bulk: bool) -> MxAnswer:
        negative_ttl = self._settings.dns_negative_ttl
        reply = await self._query(domain, "MX", bulk)
        if reply.status is _Status.NXDOMAIN:
            return MxAnswer(domain, MxOutcome.NO_SUCH_DOMAIN, ttl=negative_ttl)
        if reply.status in (_Status.TIMEOUT, _Status.ERROR):
            return _failed(domain, reply)
        if reply.status is _Status.NODATA:
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
            MxHost(host, preference, a.addresses, a.routable) for (host, preference), a in zip(exchanges, found)
        )
        ttl = min([mx_ttl, *(a.ttl for a in found)])
        failures = [a.failure for a in found if a.failure is not None]
        if any(h.routable for h in hosts):
            if failures or any(not a.addresses for a in found):
                ttl = min(ttl, self._settings.dns_negative_ttl)  # partly built on absence of data
            return MxAnswer(domain, MxOutcome.MX, hosts, ttl=ttl)
        if failures:
            timeouts = [f for f in failures if f.status is _Status.TIMEOUT]
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
        replies = await asyncio.gather(*(self._query(host, qtype, bulk) for host in missing for qtype in ("A", "AAAA")))
        for host, v4, v6 in zip(missing, replies[::2], replies[1::2]):
            addresses = v4.data + v6.data
            # the network guard's rule: a global unicast address, or one the operator allowlisted
            routable = any(permitted(a, self._settings.smtp_allow_networks) for a in addresses)
            failed = [r for r in (v4, v6) if r.status in (_Status.TIMEOUT, _Status.ERROR)]
            failure = failed[0] if failed and not routable else None
            found[host] = _Addresses(addresses, routable, min(v4.ttl, v6.ttl), failure)
            ttl = min(v4.ttl, v6.ttl, self._settings.dns_max_ttl)
            if not addresses:
                ttl = min(ttl, self._settings.dns_negative_ttl)
            if not failed and ttl > 0:
                self._hosts[host] = (found[host], time.monotonic() + ttl)
        return [found[h] for h in hosts]

    async def _query(self, name: str, qtype: str, bulk: bool) -> _Reply:
        """One query, translated: the only place resolver exceptions are caught."""
        try:
            # A burst (a cold batch of 1,000 domains) must queue here: c-ares answers "timeout"
            # early for queries it cannot send when thousands are outstanding at once.
            async with self._slots.slot(bulk=bulk), asyncio.timeout(self._budget):
                self.stats.queries_sent += 1
                started = time.monotonic()
                try:
                    result = await self._resolver().query_dns(name, qtype)
                except aiodns.error.DNSError as exc:
                    if not exc.args or exc.args[0] != aiodns.error.ARES_ETIMEOUT or self._closed:
                        raise
                    if time.monotonic() - started >= self._settings.dns_timeout:
                        raise
                    self.stats.queries_sent += 1  # given up early: once more, waiting as long as configured
                    result = await self._patient_resolver().query_dns(name, qtype)
        except TimeoutError:
            return _Reply(_Status.TIMEOUT, detail=f"{qtype} {name}: no answer within {self._budget:g}s")
        except aiodns.error.DNSError as exc:
            code = exc.args[0] if exc.args else None
            message = exc.args[1] if len(exc.args) > 1 else repr(exc)
            return _Reply(_ARES_STATUS.get(code, _Status.ERROR), detail=f"{qtype} {name}: {message}")
        except Exception as exc:  # noqa: BLE001 - e.g. RuntimeError from a closed channel
            return _Reply(_Status.ERROR, detail=f"{qtype} {name}: {exc!r}")
        return _parse(result.answer, qtype)

    def _resolver(self) -> aiodns.DNSResolver:
        """The channel for the next query. After ``CHANNEL_QUERIES`` queries a new one takes over,
        which bounds c-ares' own query cache (a job over 300,000 domains would otherwise hold
        1.7 GB of it); the old one is closed when its last query's budget has run out."""
        if self._closed:
            raise RuntimeError("the resolver is closed")
        if self._dns is not None and self._dns_left <= 0:
            task = asyncio.get_running_loop().create_task(self._close_after_budget(self._dns))
            self._retired.add(task)
            task.add_done_callback(self._retired.discard)
            self._dns = None
        if self._dns is None:
            self._dns_left = self.channel_queries
            self.stats.channels += 1
            self._dns = self._new_channel()
        self._dns_left -= 1
        return self._dns

    def _patient_resolver(self) -> aiodns.DNSResolver:
        """The channel for queries the current one timed out early. It sees only those, so its per-try
        timeouts stay near ``dns_timeout`` (its query cache holds only slow servers' answers)."""
        if self._patient is None:
            self._patient = self._new_channel()
        return self._patient

    def _new_channel(self) -> aiodns.DNSResolver:
        # c-ares takes "ip:port" and "[v6]:port" (checked against pycares 5.2 / c-ares 1.34)
        servers = [f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}" for ip, port in self._settings.dns_nameservers]
        return aiodns.DNSResolver(
            nameservers=servers or None,  # None: the system's resolv.conf
            timeout=self._settings.dns_timeout,
            tries=self._settings.dns_tries,
        )

    async def _close_after_budget(self, channel: aiodns.DNSResolver) -> None:
        try:
            await asyncio.sleep(self._budget + 1)
        finally:  # also when the resolver closes first: its queries then fail, as the current channel's do
            await channel.close()


def _parse(records: list[Any], qtype: str) -> _Reply:
    """Keep the asked type's data; CNAMEs on the way count towards the TTL (RFC 1034 §3.6.2)."""
    ttl = min((r.ttl for r in records), default=math.inf)
    if qtype == "MX":
        data: tuple[Any, ...] = tuple(
            (r.data.priority, r.data.exchange.lower().rstrip(".")) for r in records if r.type == pycares.QUERY_TYPE_MX
        )
    else:
        rtype = pycares.QUERY_TYPE_A if qtype == "A" else pycares.QUERY_TYPE_AAAA
        data = tuple(r.data.addr for r in records if r.type == rtype)
    # a CNAME whose target has no record of this type is NODATA for our purposes
    return _Reply(_Status.OK if data else _Status.NODATA, data, float(ttl))


def _failed(domain: str, reply: _Reply) -> MxAnswer:
    outcome = MxOutcome.TIMEOUT if reply.status is _Status.TIMEOUT else MxOutcome.ERROR
    return MxAnswer(domain, outcome, detail=reply.detail, ttl=math.inf)
