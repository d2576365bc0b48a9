"""The SMTP RCPT prober: would the recipient's mail server accept this mailbox? One ``ProbeResult``.

Lives here: choosing MX hosts in preference order (the next one when a host cannot be reached),
the accept-all check (a random address at the same domain, asked only once a real address was
accepted, and cached per domain), the per-address result cache, the per-domain rate limit, the
caller's deadline and the HELO name. What an answer means as a ``ProbeOutcome`` is
``outcomes.py``; sessions, pooling and batching are ``pool.py`` and ``transaction.py``; what a
host taught us is ``host.py``; limits shared by replicas are ``limits.py``; sockets and ssl are
``session.py``; what a reply means is ``smtp_reply.classify_reply``; what an outcome does to a
verdict is ``verdict.py``.

Nothing here raises for network trouble: every failure is an outcome (``smtp_unavailable``,
``smtp_timeout``, ...). Only the normalized address is ever sent, and only after
``wire_address`` has checked it once more (CR, LF, NUL, spaces, lengths).
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from collections.abc import Coroutine
from dataclasses import dataclass, replace
from typing import Any

from cachetools import LRUCache

from validator.config import Settings, helo_name
from validator.model import Address, MxAnswer, ProbeOutcome, ProbeResult
from validator.probe.limits import ProbeLimits, Refusal, open_limits, per_process
from validator.probe.outcomes import CACHEABLE, result_of, try_next
from validator.probe.pool import Answer, PoolStats, QueuedRecipient, SessionPool
from validator.probe.session import ConnectFailed, tls_context
from validator.smtp_reply import Reply

# any whitespace (str.isspace, Unicode's too), control characters and the path's own brackets
_NOT_ON_THE_WIRE = re.compile(r"[\s\x00-\x1f\x7f<>]")


def wire_address(address: Address) -> str | None:
    """``local@ascii-domain`` as it may go in ``RCPT TO:<...>``, or None if it must not go out.

    Syntax has refused all of this already; checked again because this string reaches a socket.
    RFC 5321 §4.5.3.1: local part at most 64 octets, path at most 256 with the brackets.
    """
    local, domain = address.local_part, address.ascii_domain
    text = f"{local}@{domain}"
    if _NOT_ON_THE_WIRE.search(text):
        return None
    if len(local.encode()) > 64 or len(text.encode()) > 254 or not domain.isascii() or not local:
        return None
    return text


@dataclass(slots=True)
class ProbeStats:
    """Counters for metrics; they only grow."""

    probes: int = 0
    cache_hits: int = 0


class Prober:
    """RCPT probes through a shared session pool. Use from one event loop; ``await close()`` at the end.

    With probing on, refuses to start (``ConfigError`` naming the variable) without a proper HELO name.
    """

    def __init__(self, settings: Settings, limits: ProbeLimits | None = None) -> None:
        limits = limits or open_limits(settings)
        settings = settings if limits.shared else per_process(settings)  # as open_limits built them
        self._settings = settings
        self._limits = limits
        # Only a prober that will be used checks its name and pays for the CA bundle (~80 ms).
        helo = helo_name(settings) if settings.smtp_probe else "probe.invalid"
        tls = tls_context(settings.smtp_tls_verify) if settings.smtp_probe else None
        self._pool = SessionPool(settings, helo, tls, limits, on_block=self._share_block)
        self._results: LRUCache[str, tuple[ProbeResult, float]] = LRUCache(settings.smtp_cache_size)
        self._accept_all: LRUCache[str, tuple[bool, float]] = LRUCache(settings.smtp_cache_size)
        self._accept_all_asked: dict[str, asyncio.Future[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.stats = ProbeStats()

    @property
    def pool_stats(self) -> PoolStats:
        return self._pool.stats

    async def close(self) -> None:
        await self._pool.close()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._limits.close()

    async def probe(self, address: Address, mx: MxAnswer, timeout: float) -> ProbeResult:
        """Ask the MX hosts about ``address`` within ``timeout`` seconds; never raises for trouble."""
        started = time.monotonic()
        self.stats.probes += 1
        recipient = wire_address(address)
        if recipient is None:
            return ProbeResult(ProbeOutcome.NOT_ALLOWED, detail="the address cannot be sent in RCPT TO")
        hit = self._cached(recipient, address.ascii_domain)
        if hit is not None:
            self.stats.cache_hits += 1
            return replace(hit, cached=True, elapsed_ms=_ms(started))
        known: list[Answer] = []
        try:
            async with asyncio.timeout(max(timeout, 0.0)):
                result = await self._backing_off(mx) or await self._probe(
                    address, recipient, mx, started + timeout, known
                )
        except TimeoutError:
            result = self._timed_out(known[-1] if known else None, address.ascii_domain)
        except Exception as exc:  # noqa: BLE001 - a bug here must answer "unknown", not fail the request
            result = ProbeResult(ProbeOutcome.SMTP_UNAVAILABLE, detail=f"internal error: {exc!r}")
        return replace(result, elapsed_ms=_ms(started))

    async def _probe(
        self, address: Address, recipient: str, mx: MxAnswer, deadline: float, known: list[Answer]
    ) -> ProbeResult:
        domain = address.ascii_domain
        answer = await self._ask_within_rate(mx, recipient, address.smtputf8, deadline)
        if answer is None:
            return ProbeResult(
                ProbeOutcome.THROTTLED,
                accept_all=self._accept_all_known(domain),
                detail=f"more than {self._settings.smtp_domain_rate} probes a minute at {domain}",
            )
        known.append(answer)
        result = result_of(answer)
        if result.outcome is ProbeOutcome.ACCEPTED:  # only then: a refused random name would be one more refusal
            host = next((h for h in mx.hosts if h.host == answer.host), None)  # the server that said yes
            asked = replace(mx, hosts=(host,)) if host is not None else mx
            result = replace(result, accept_all=await self._accept_all_of(asked, deadline))
        else:
            result = replace(result, accept_all=self._accept_all_known(domain))
        if result.outcome in CACHEABLE and self._settings.smtp_result_ttl > 0:
            self._results[recipient] = (
                replace(result, accept_all=None),
                time.monotonic() + self._settings.smtp_result_ttl,
            )
        return result

    async def _ask_within_rate(
        self, mx: MxAnswer, recipient: str, utf8: bool, deadline: float, first: bool = False
    ) -> Answer | None:
        """The answer, or None when the domain's rate leaves no room before the deadline. A
        reservation whose RCPT TO never went out (deadline, a host that refused us) is given back."""
        reservation = await self._limits.reserve(mx.domain, 1, deadline - time.monotonic())
        if reservation is None:
            return None
        jobs: list[QueuedRecipient] = []
        try:
            if reservation.wait:
                await asyncio.sleep(reservation.wait)
            return await self._ask(mx, recipient, utf8, jobs, first)
        finally:
            if not any(job.sent for job in jobs):
                await self._limits.release(mx.domain, reservation)

    async def _ask(
        self, mx: MxAnswer, recipient: str, utf8: bool, jobs: list[QueuedRecipient], first: bool = False
    ) -> Answer:
        """Ask the hosts in preference order; the next host only when this one could not be reached.
        ``first`` puts the recipient ahead of the host's queue (callers already waiting on it)."""
        answer = Answer(mx.domain, error=ConnectFailed(f"{mx.domain}: no MX host to ask"))
        for host in mx.hosts:
            jobs.append(self._pool.submit(host.host, host.addresses, recipient, utf8, first))
            answer = await jobs[-1].future
            if not try_next(answer):
                return answer
        return answer

    # -- accept-all ------------------------------------------------------------------------------

    async def _accept_all_of(self, mx: MxAnswer, deadline: float) -> bool | None:
        """Whether the domain accepts any name: asked once per domain (concurrent callers share it)."""
        domain = mx.domain
        known = self._accept_all_known(domain)
        if known is not None:
            return known
        asked = self._accept_all_asked.get(domain)
        if asked is None:
            asked = self._accept_all_asked[domain] = asyncio.ensure_future(self._ask_accept_all(mx, deadline))
            asked.add_done_callback(lambda _: self._accept_all_asked.pop(domain, None))
        await asyncio.shield(asked)
        return self._accept_all_known(domain)

    async def _ask_accept_all(self, mx: MxAnswer, deadline: float) -> None:
        answer = await self._ask_within_rate(mx, f"{_random_local()}@{mx.domain}", False, deadline, first=True)
        outcome = result_of(answer).outcome if answer is not None else None
        if outcome in (ProbeOutcome.ACCEPTED, ProbeOutcome.MAILBOX_NOT_FOUND, ProbeOutcome.MAILBOX_DISABLED):
            expiry = time.monotonic() + self._settings.smtp_accept_all_ttl
            self._accept_all[mx.domain] = (outcome is ProbeOutcome.ACCEPTED, expiry)

    def _accept_all_known(self, domain: str) -> bool | None:
        entry = self._accept_all.get(domain)
        return entry[0] if entry is not None and entry[1] > time.monotonic() else None

    # -- answers ---------------------------------------------------------------------------------

    def _cached(self, recipient: str, domain: str) -> ProbeResult | None:
        entry = self._results.get(recipient)
        if entry is None or entry[1] <= time.monotonic():
            return None
        return replace(entry[0], accept_all=self._accept_all_known(domain))

    async def _backing_off(self, mx: MxAnswer) -> ProbeResult | None:
        """A host that refused the prober is left alone for a while, by every replica: asking again
        only digs the hole deeper (RBL listings feed on repeated attempts). Answered from memory."""
        if not mx.hosts:
            return None
        host = mx.hosts[0].host
        refused = self._pool.refusal(host)
        if refused is None and self._limits.shared:
            shared = await self._limits.blocked(host)
            if shared is not None:
                refused = Answer(host, Reply(shared.code, shared.enhanced, shared.text), before_rcpt=True)
                self._pool.learn_refusal(host, refused, shared.seconds_left)
        if refused is None:
            return None
        result = result_of(refused)
        return replace(result, cached=True, detail=f"{host} refused the prober recently; not asked again yet")

    def _share_block(self, host: str, answer: Answer) -> None:
        if self._limits.shared and answer.reply is not None:
            reply = answer.reply
            refusal = Refusal(reply.code, reply.enhanced, reply.text, self._settings.smtp_block_backoff)
            self._spawn(self._limits.block(host, refusal))

    def _spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _timed_out(self, answer: Answer | None, domain: str) -> ProbeResult:
        """The deadline came first. When the address itself was answered (only the accept-all check
        was still out), that answer stands; otherwise the outcome is ``smtp_timeout``."""
        if answer is not None:
            return replace(
                result_of(answer),
                accept_all=self._accept_all_known(domain),
                detail="the deadline ran out before the accept-all check finished",
            )
        return ProbeResult(
            ProbeOutcome.SMTP_TIMEOUT,
            accept_all=self._accept_all_known(domain),
            detail="the deadline ran out before the probe finished",
        )


def _random_local() -> str:
    """A local part no person has: the accept-all check's recipient."""
    return "x" + secrets.token_hex(10)


def _ms(started: float) -> float:
    return (time.monotonic() - started) * 1000
