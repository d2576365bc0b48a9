"""Connections to MX hosts for the session pool: slots, leases, connecting, closing, reaping.

``Connections`` is the part of ``pool.SessionPool`` that opens and closes sessions: a global
slot (``VALIDATOR_SMTP_MAX_CONNECTIONS``), a lease from ``limits.py`` when replicas share the
per-host cap, the host's addresses in order behind the network guard, opportunistic TLS with a
plain-text retry, QUIT on the way out, and a reaper for idle sessions (closed when they expire or
another replica wants the host). What is said inside a session is ``transaction.py``'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from validator.config import Settings
from validator.probe.host import HostState, live
from validator.probe.limits import LEASE_SECONDS, ProbeLimits
from validator.probe.session import ConnectFailed, NotAllowed, SessionError, SmtpSession, TlsFailed

_LEASE_RETRY = 0.02  # seconds between asks for a connection lease that other replicas hold
_WANTED_CHECK = 0.2  # seconds between looks for other replicas waiting for a host our idle sessions hold


@dataclass(slots=True)
class PoolStats:
    """Counters for metrics and the benchmark; they only grow (peaks only rise)."""

    connect_attempts: int = 0  # sockets we tried to open
    connections: int = 0  # sessions that got as far as a greeting and EHLO
    guard_refusals: int = 0  # addresses the network guard refused: no socket
    recipients: int = 0  # RCPT TO commands sent
    transactions: int = 0  # MAIL FROM commands sent
    round_trips: int = 0  # writes of MAIL FROM, RCPT TO and RSET awaiting replies (a pipelined group is one)
    retries: int = 0  # recipients asked again after a limit or a broken session
    tarpits: int = 0  # sessions retired because their replies slowed down
    refusal_closes: int = 0  # sessions ended on reaching their refusal cap
    unasked: int = 0  # recipients answered with their host's refusal of the prober, never sent
    peak_total: int = 0  # most sessions open at once, all hosts
    peak_per_host: dict[str, int] = field(default_factory=dict)
    rcpts_per_session: list[int] = field(default_factory=list)  # RCPT TO of each closed session (bounded)


class Connections:
    """Sessions per MX host within the global and per-host caps; subclassed by the session pool."""

    def __init__(self, settings: Settings, helo: str, tls: ssl.SSLContext | None, limits: ProbeLimits) -> None:
        self._settings = settings
        self._helo = helo
        self._tls = tls
        self._limits = limits
        self._hosts: dict[str, HostState] = {}
        self._slots = asyncio.Semaphore(settings.smtp_max_connections)
        self._tasks: set[asyncio.Task[None]] = set()
        self._reaper: asyncio.Task[None] | None = None
        self._closing = False
        self._waiting = 0  # workers waiting for a global connection slot
        self._open = 0  # sessions open or opening, all hosts
        self._leases: dict[int, tuple[str, str]] = {}  # id(session) -> (host, lease) when limits are shared
        self.stats = PoolStats()

    def _fail_all(self, state: HostState, error: SessionError) -> None:
        """Answer everything queued for a host we cannot talk to (the pool says how)."""
        raise NotImplementedError

    # -- sessions --------------------------------------------------------------------------------

    async def _session(self, state: HostState) -> SmtpSession | None:
        """An idle session of this host, or a new one; None (and every queued job answered) on failure."""
        while state.idle:
            session = state.idle.pop()
            if session.usable and not self._expired(session):
                return session
            await self._release(state, session)
        await self._acquire_slot()
        lease = await self._lease(state)
        if lease is None or not live(state.pending):  # every caller gave up, or other replicas hold the host
            self._slots.release()
            if lease is not None:
                await self._limits.close_connection(state.name, lease)
            return None
        state.open += 1
        self._open += 1
        self.stats.peak_per_host[state.name] = max(self.stats.peak_per_host.get(state.name, 0), state.open)
        self.stats.peak_total = max(self.stats.peak_total, self._open)
        try:
            session = await self._connect(state)
        except SessionError as exc:
            self._forget(state, None, lease)
            if state.open > 0:  # e.g. Postfix smtpd_client_connection_count_limit: use the sessions we have
                state.conn_limit = state.open
                state.note_lesson()
            else:
                self._fail_all(state, exc)
            return None
        except BaseException:
            self._forget(state, None, lease)
            raise
        if lease:
            self._leases[id(session)] = (state.name, lease)
        return session

    async def _lease(self, state: HostState) -> str | None:
        """A connection lease for the host, shared with other replicas: "" when limits are this
        process's own; waits while others hold them all and no session of ours serves the queue."""
        if not self._limits.shared:
            return ""
        cap = self._settings.smtp_max_connections_per_host
        while True:
            lease = await self._limits.open_connection(state.name, cap)
            if lease is not None or state.open > 0 or not live(state.pending):
                return lease
            await asyncio.sleep(_LEASE_RETRY)

    async def _connect(self, state: HostState) -> SmtpSession:
        """Try the host's addresses in order; the guard is applied inside ``SmtpSession.open``."""
        settings = self._settings
        failure: NotAllowed | ConnectFailed | None = None
        for ip in state.ips:
            try:
                self.stats.connect_attempts += 1
                session = await SmtpSession.open(
                    state.name,
                    ip,
                    settings.smtp_port,
                    helo=self._helo,
                    connect_timeout=settings.smtp_connect_timeout,
                    command_timeout=settings.smtp_command_timeout,
                    allowed=settings.smtp_allow_networks,
                    tls=None if state.plain else self._tls,
                )
            except NotAllowed as exc:
                self.stats.connect_attempts -= 1  # refused before any socket
                self.stats.guard_refusals += 1
                failure = failure if isinstance(failure, ConnectFailed) else exc
            except ConnectFailed as exc:
                failure = exc
            except TlsFailed:
                if self._settings.smtp_tls_verify or state.plain:
                    raise
                # Opportunistic TLS (RFC 7435): a broken handshake is no reason to give up; Postfix's
                # "may" level also retries in the clear. Remembered for the host's pool.
                state.plain = True
                state.note_lesson()
                return await self._connect(state)
            else:
                self.stats.connections += 1
                if state.usual is None:
                    state.observe(session.handshake_latency)
                return session
        raise failure or ConnectFailed(f"{state.name}: no address to connect to")

    async def _acquire_slot(self) -> None:
        """A global connection slot. Idle sessions give theirs up first; while anyone waits,
        sessions that fall idle are closed rather than kept (see ``_work``)."""
        if self._slots.locked():
            for other in self._hosts.values():
                if other.idle:
                    await self._release(other, other.idle.pop(0))
                    break
        self._waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self._waiting -= 1

    async def _release(self, state: HostState, session: SmtpSession, quit_: bool = True) -> None:
        """End a session, then free its slot and lease: freed before the QUIT was answered, another
        replica opened its next connection while the server still counted this one (3 at a shared cap of 2)."""
        try:
            if quit_:
                await session.close()
            else:
                session.abort()
        finally:
            self._forget(state, session)

    def _forget(self, state: HostState, session: SmtpSession | None, lease: str = "") -> None:
        """A session of ``state`` is gone (or never came): its slot and lease are free."""
        state.open -= 1
        self._open -= 1
        self._slots.release()
        if session is not None:
            if len(self.stats.rcpts_per_session) < 100_000:
                self.stats.rcpts_per_session.append(session.recipients_sent)
            lease = self._leases.pop(id(session), ("", ""))[1]
        if lease:
            self._spawn(self._limits.close_connection(state.name, lease))

    def _expired(self, session: SmtpSession) -> bool:
        return time.monotonic() - session.idle_since > self._settings.smtp_idle_timeout

    # -- housekeeping ----------------------------------------------------------------------------

    def _spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _start_reaper(self) -> None:
        if self._reaper is None or self._reaper.done():
            self._reaper = asyncio.get_running_loop().create_task(self._reap())
            self._tasks.add(self._reaper)
            self._reaper.add_done_callback(self._tasks.discard)

    async def _reap(self) -> None:
        """Close sessions idle longer than the idle timeout, or wanted by another replica; renew the
        leases of the rest (a third of their life at most between renewals); stop when nothing is
        left to watch."""
        period = max(min(self._settings.smtp_idle_timeout / 2, 5.0), 0.05)
        if self._limits.shared:
            period = min(period, _WANTED_CHECK)
        renewed = time.monotonic()
        while any(state.idle or state.workers for state in self._hosts.values()):
            await asyncio.sleep(period)
            idle_hosts = [h for h, s in self._hosts.items() if s.idle]
            wanted = await self._limits.wanted(idle_hosts) if self._limits.shared and idle_hosts else set()
            for state in list(self._hosts.values()):
                for session in [s for s in state.idle if self._expired(s) or not s.usable or state.name in wanted]:
                    with contextlib.suppress(ValueError):
                        state.idle.remove(session)
                        await self._release(state, session)
            if self._leases and time.monotonic() - renewed >= LEASE_SECONDS / 3:
                renewed = time.monotonic()
                await self._limits.renew(list(self._leases.values()))
            self._prune()

    def _prune(self) -> None:
        """Forget hosts with nothing going on and nothing learnt, so the table stays bounded."""
        for name, state in list(self._hosts.items()):
            if not (state.idle or state.workers or state.pending or state.open or state.learnt_anything()):
                del self._hosts[name]
