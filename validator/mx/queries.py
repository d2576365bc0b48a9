"""DNS queries over c-ares for the MX adapter: channels, the query budget, errors translated.

This is the only module that knows aiodns/pycares exist: every resolver failure becomes a
``DnsReply`` whose status is ``TIMEOUT`` or ``ERROR``; nothing it raises comes from them.

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
from dataclasses import dataclass
from enum import Enum
from typing import Any

import aiodns
import aiodns.error
import pycares

from validator.config import Settings
from validator.priority import PrioritySlots

CHANNEL_QUERIES = 10_000  # queries a c-ares channel answers before a new one takes over: its cache under ~20 MiB


@dataclass(slots=True)
class MxStats:
    """Counters for metrics; they only grow."""

    cache_hits: int = 0
    cache_misses: int = 0
    queries_sent: int = 0  # handed to c-ares, which may answer repeats from its own cache
    channels: int = 0  # c-ares channels made, one per CHANNEL_QUERIES queries
    shared: int = 0  # misses that joined a lookup already in flight


class QueryStatus(Enum):
    OK = "ok"
    NXDOMAIN = "nxdomain"
    NODATA = "nodata"  # the name exists, without records of this type (RFC 2308 §2.2)
    TIMEOUT = "timeout"
    ERROR = "error"


# c-ares status codes that are answers, not trouble; everything else is ERROR.
_ARES_STATUS = {
    aiodns.error.ARES_ENOTFOUND: QueryStatus.NXDOMAIN,
    aiodns.error.ARES_ENODATA: QueryStatus.NODATA,
    aiodns.error.ARES_ETIMEOUT: QueryStatus.TIMEOUT,
}


@dataclass(frozen=True, slots=True)
class DnsReply:
    """One query's result: record data of the asked type, and the smallest TTL seen."""

    status: QueryStatus
    data: tuple[Any, ...] = ()
    ttl: float = math.inf
    detail: str | None = None


class DnsQueries:
    """Queries through c-ares channels within one budget of queries in flight (``PrioritySlots``:
    real-time first, bulk capped) and ``dns_timeout * dns_tries`` seconds each."""

    def __init__(self, settings: Settings, stats: MxStats) -> None:
        self._settings = settings
        self._timeout = settings.dns_timeout
        self.budget = settings.dns_timeout * settings.dns_tries
        # bulk jobs' queries never take more than job_dns_max_inflight of them, and wait behind real-time ones
        self._slots = PrioritySlots(settings.dns_max_inflight, settings.job_dns_max_inflight)
        self._dns: aiodns.DNSResolver | None = None  # made on first use, inside the running loop
        self._dns_left = 0  # queries the current channel may still take
        self._patient: aiodns.DNSResolver | None = None  # asks again what the fast channel gave up on early
        self._retired: set[asyncio.Task[None]] = set()  # old channels, closed once their queries are done
        self._closed = False
        self.channel_queries = CHANNEL_QUERIES
        self.stats = stats

    def cancel(self) -> None:
        """Fail the queries in flight (their callers get ERROR replies)."""
        self._closed = True
        for channel in (self._dns, self._patient):
            if channel is not None:
                channel.cancel()

    async def close(self) -> None:
        """Release c-ares: retired channels at once, then the current ones."""
        self.cancel()
        for task in self._retired:
            task.cancel()
        await asyncio.gather(*self._retired, return_exceptions=True)
        for channel in (self._dns, self._patient):
            if channel is not None:
                await channel.close()
        self._dns = self._patient = None

    async def ask(self, name: str, qtype: str, bulk: bool) -> DnsReply:
        """One query, translated: the only place resolver exceptions are caught."""
        try:
            # A burst (a cold batch of 1,000 domains) must queue here: c-ares answers "timeout"
            # early for queries it cannot send when thousands are outstanding at once.
            async with self._slots.slot(bulk=bulk), asyncio.timeout(self.budget):
                self.stats.queries_sent += 1
                started = time.monotonic()
                try:
                    result = await self._resolver().query_dns(name, qtype)
                except aiodns.error.DNSError as exc:
                    if not exc.args or exc.args[0] != aiodns.error.ARES_ETIMEOUT or self._closed:
                        raise
                    if time.monotonic() - started >= self._timeout:
                        raise
                    self.stats.queries_sent += 1  # given up early: once more, waiting as long as configured
                    result = await self._patient_resolver().query_dns(name, qtype)
        except TimeoutError:
            return DnsReply(QueryStatus.TIMEOUT, detail=f"{qtype} {name}: no answer within {self.budget:g}s")
        except aiodns.error.DNSError as exc:
            code = exc.args[0] if exc.args else None
            message = exc.args[1] if len(exc.args) > 1 else repr(exc)
            return DnsReply(_ARES_STATUS.get(code, QueryStatus.ERROR), detail=f"{qtype} {name}: {message}")
        except Exception as exc:  # noqa: BLE001 - e.g. RuntimeError from a closed channel
            return DnsReply(QueryStatus.ERROR, detail=f"{qtype} {name}: {exc!r}")
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
            timeout=self._timeout,
            tries=self._settings.dns_tries,
        )

    async def _close_after_budget(self, channel: aiodns.DNSResolver) -> None:
        try:
            await asyncio.sleep(self.budget + 1)
        finally:  # also when the resolver closes first: its queries then fail, as the current channel's do
            await channel.close()


def _parse(records: list[Any], qtype: str) -> DnsReply:
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
    return DnsReply(QueryStatus.OK if data else QueryStatus.NODATA, data, float(ttl))
