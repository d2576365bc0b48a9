"""Shared SMTP sessions per MX host: bounded, reused, and batched several RCPT TO to a transaction.

Each MX host has a queue of recipients waiting to be asked and at most
``VALIDATOR_SMTP_MAX_CONNECTIONS_PER_HOST`` workers; a worker holds one session at a time, so
the per-host cap is a cap on simultaneous connections, whatever the burst. A worker takes the
queued recipients in one transaction (``MAIL FROM``, one ``RCPT TO`` each, ``RSET``), keeps the
session for the next batch, and closes it after ``VALIDATOR_SMTP_SESSION_RECIPIENTS`` recipients;
an idle session is kept for reuse until ``VALIDATOR_SMTP_IDLE_TIMEOUT``.

A server that refuses further recipients ("452 4.5.3 Too many recipients") or drops the session
never yields a wrong answer: the recipients it did not answer go back to the front of the queue
and are asked again on a new transaction or connection (at most ``_ATTEMPTS`` times each).

Must not live here: reply meanings (``smtp_reply``), outcomes and caches (``probe.py``), sockets
(``smtp_session.py``). Nothing here raises to the caller: a job's future holds an ``Answer``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from .config import Settings
from .smtp_reply import Reply, refuses_more_recipients
from .smtp_session import ConnectFailed, Dropped, NotAllowed, Refused, SessionError, SmtpSession, TlsFailed

_ATTEMPTS = 2  # asks per recipient when sessions break under it; then the failure is the answer


@dataclass(frozen=True, slots=True)
class Answer:
    """The server's reply to one RCPT TO, or the failure that prevented it."""

    host: str
    reply: Reply | None = None
    error: SessionError | None = None
    tls: bool = False
    before_rcpt: bool = False  # the reply refused MAIL FROM or the session, not this recipient


@dataclass(eq=False, slots=True)
class Job:
    """One recipient waiting for its RCPT TO reply."""

    recipient: str  # the wire form, already checked
    utf8: bool  # needs SMTPUTF8 (RFC 6531)
    future: asyncio.Future[Answer]
    attempts: int = 0

    def answer(self, answer: Answer) -> None:
        if not self.future.done():  # the caller may have given up at its deadline
            self.future.set_result(answer)


@dataclass(slots=True)
class PoolStats:
    """Counters for metrics and the benchmark; they only grow (peaks only rise)."""

    connect_attempts: int = 0  # sockets we tried to open
    connections: int = 0  # sessions that got as far as a greeting and EHLO
    guard_refusals: int = 0  # addresses the network guard refused: no socket
    recipients: int = 0  # RCPT TO commands sent
    transactions: int = 0  # MAIL FROM commands sent
    retries: int = 0  # recipients asked again after a limit or a broken session
    peak_total: int = 0  # most sessions open at once, all hosts
    peak_per_host: dict[str, int] = field(default_factory=dict)


@dataclass(eq=False, slots=True)
class _Host:
    name: str
    ips: tuple[str, ...] = ()
    pending: deque[Job] = field(default_factory=deque)
    idle: list[SmtpSession] = field(default_factory=list)
    open: int = 0  # sessions open or opening
    workers: int = 0
    busy: int = 0  # workers inside a transaction (the others will take from the queue)
    rcpt_limit: int | None = None  # learnt from "too many recipients" in one transaction
    session_limit: int | None = None  # learnt when a session stops taking recipients
    plain: bool = False  # its STARTTLS handshake failed: opportunistic TLS goes on without it
    conn_limit: int | None = None  # learnt when a further connection failed while others were open


class SessionPool:
    """Per-host queues, workers and idle sessions; ``close()`` before the event loop ends."""

    def __init__(self, settings: Settings, helo: str, tls: ssl.SSLContext | None) -> None:
        self._settings = settings
        self._helo = helo
        self._tls = tls
        self._sender = f"<{settings.smtp_mail_from}>"
        self._hosts: dict[str, _Host] = {}
        self._slots = asyncio.Semaphore(settings.smtp_max_connections)
        self._tasks: set[asyncio.Task[None]] = set()
        self._reaper: asyncio.Task[None] | None = None
        self._closing = False
        self._waiting = 0  # workers waiting for a global connection slot
        self._open = 0  # sessions open or opening, all hosts
        self.stats = PoolStats()

    def submit(self, host: str, ips: Sequence[str], recipient: str, utf8: bool) -> Job:
        """Queue one recipient at ``host``; its future resolves to an ``Answer``."""
        state = self._hosts.get(host)
        if state is None:
            state = self._hosts[host] = _Host(host)
        state.ips = tuple(ips)
        job = Job(recipient, utf8, asyncio.get_running_loop().create_future())
        state.pending.append(job)
        if self._closing:
            job.future.cancel()
        elif state.workers == state.busy:  # no worker is about to take from the queue
            self._add_worker(state)
        self._start_reaper()
        return job

    def _add_worker(self, state: _Host) -> None:
        """One more worker if the host's cap allows; workers grow only with the backlog."""
        cap = self._settings.smtp_max_connections_per_host
        if state.workers < (cap if state.conn_limit is None else min(cap, state.conn_limit)):
            state.workers += 1
            self._spawn(self._work(state))

    async def close(self) -> None:
        """Stop the workers, QUIT every idle session."""
        self._closing = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for state in self._hosts.values():
            idle, state.idle = state.idle, []
            await asyncio.gather(*(self._release(state, session) for session in idle))
            for job in state.pending:
                job.future.cancel()
            state.pending.clear()

    # -- workers ---------------------------------------------------------------------------------

    async def _work(self, state: _Host) -> None:
        session: SmtpSession | None = None
        try:
            while _live(state.pending):
                if session is None:
                    session = await self._session(state)
                    if session is None:
                        return  # connecting failed: the queued jobs were answered or are left to the other sessions
                batch = self._batch(state, session)
                if _live(state.pending):
                    self._add_worker(state)  # a backlog beyond this batch: open another session
                state.busy += 1
                try:
                    usable = await self._transaction(state, session, batch)
                finally:
                    state.busy -= 1
                if not usable or self._spent(state, session):
                    await self._release(state, session)
                    session = None
        except BaseException:  # cancelled (close) mid-command: the session's state is unknown, never reuse it
            if session is not None:
                session.abort()
                self._forget(state)
                session = None
            raise
        finally:
            state.workers -= 1
            if session is not None and self._waiting:  # another host needs the slot more than we do
                await self._release(state, session)
            elif session is not None:
                session.idle_since = time.monotonic()
                state.idle.append(session)
            if _live(state.pending) and state.workers == state.busy and not self._closing:  # queued as we left
                self._add_worker(state)

    def _batch(self, state: _Host, session: SmtpSession) -> list[Job]:
        room = self._room(state, session)
        if state.rcpt_limit is not None:
            room = min(room, state.rcpt_limit)
        batch: list[Job] = []
        while state.pending and len(batch) < room:
            job = state.pending.popleft()
            if not job.future.done():
                batch.append(job)
        return batch

    def _room(self, state: _Host, session: SmtpSession) -> int:
        return max(self._session_limit(state) - session.recipients_sent, 1)  # a spent session gets no batch

    def _spent(self, state: _Host, session: SmtpSession) -> bool:
        return session.recipients_sent >= self._session_limit(state) or not session.usable

    def _session_limit(self, state: _Host) -> int:
        limit = self._settings.smtp_session_recipients
        return limit if state.session_limit is None else min(limit, state.session_limit)

    async def _transaction(self, state: _Host, session: SmtpSession, batch: list[Job]) -> bool:
        """MAIL FROM, RCPT TO each, RSET. False when the session must not be used again."""
        if not batch:
            return True
        utf8 = "SMTPUTF8" in session.extensions
        for job in [j for j in batch if j.utf8 and not utf8]:
            batch.remove(job)
            job.answer(Answer(state.name, error=SessionError(f"{state.name} does not offer SMTPUTF8 (RFC 6531)")))
        try:
            self.stats.transactions += 1
            smtputf8 = " SMTPUTF8" if any(job.utf8 for job in batch) else ""  # RFC 6531 §3.4
            reply = await session.command(f"MAIL FROM:{self._sender}{smtputf8}")
            if reply.code == 421:  # RFC 5321 §3.8: e.g. an idle session the server timed out; not an answer
                raise Dropped(f"{state.name}: 421 before MAIL FROM", reply)
            if reply.code != 250:
                for job in batch:
                    job.answer(Answer(state.name, reply, tls=session.tls, before_rcpt=True))
                return False
            usable = await self._recipients(state, session, batch)
            if usable and not self._spent(state, session):  # QUIT ends a transaction too (RFC 5321 §4.1.1.10)
                usable = (await session.command("RSET")).code == 250
            return usable
        except SessionError as exc:
            self._retry(state, [j for j in batch if not j.future.done()], exc)
            session.abort()
            return False
        except ValueError as exc:  # a command the session refused to send (CR/LF/NUL, length): never retried
            for job in batch:
                job.answer(Answer(state.name, error=SessionError(f"not sent: {exc}")))
            session.abort()
            return False

    async def _recipients(self, state: _Host, session: SmtpSession, batch: list[Job]) -> bool:
        answered = 0  # recipients this transaction took before any refusal
        for i, job in enumerate(batch):
            if job.future.done():
                continue
            reply = await session.command(f"RCPT TO:<{job.recipient}>")
            session.recipients_sent += 1
            self.stats.recipients += 1
            if reply.code == 421:  # RFC 5321 §3.8: the server is closing the session; not about the address
                self._retry(state, batch[i:], Dropped(f"{state.name}: 421 mid-session", reply))
                return False
            if refuses_more_recipients(reply) and (answered or session.recipients_sent > 1):
                self._learn_limit(state, session, answered)
                self._retry(state, batch[i:], None)
                return answered > 0  # a transaction limit: RSET and go on; a session limit: reconnect
            job.answer(Answer(state.name, reply, tls=session.tls))
            answered += 1
        return True

    def _learn_limit(self, state: _Host, session: SmtpSession, answered: int) -> None:
        if answered > 0:
            state.rcpt_limit = answered
        else:
            state.session_limit = session.recipients_sent - 1

    def _retry(self, state: _Host, jobs: list[Job], error: SessionError | None) -> None:
        """Put unanswered jobs back at the front of the queue, or answer with the failure when tried enough."""
        for job in reversed(jobs):
            if job.future.done():
                continue
            job.attempts += 1
            if error is not None and job.attempts >= _ATTEMPTS:
                job.answer(Answer(state.name, error.reply, error=error))
            else:
                self.stats.retries += 1
                state.pending.appendleft(job)

    # -- sessions --------------------------------------------------------------------------------

    async def _session(self, state: _Host) -> SmtpSession | None:
        """An idle session of this host, or a new one; None (and every queued job answered) on failure."""
        while state.idle:
            session = state.idle.pop()
            if session.usable and not self._expired(session):
                return session
            await self._release(state, session)
        await self._acquire_slot()
        if not _live(state.pending):  # every caller gave up while we waited for a slot
            self._slots.release()
            return None
        state.open += 1
        self._open += 1
        self.stats.peak_per_host[state.name] = max(self.stats.peak_per_host.get(state.name, 0), state.open)
        self.stats.peak_total = max(self.stats.peak_total, self._open)
        try:
            return await self._connect(state)
        except SessionError as exc:
            self._forget(state)
            if state.open > 0:  # e.g. Postfix smtpd_client_connection_count_limit: use the sessions we have
                state.conn_limit = state.open
            else:
                self._fail_all(state, exc)
            return None
        except BaseException:
            self._forget(state)
            raise

    async def _connect(self, state: _Host) -> SmtpSession:
        """Try the host's addresses in order; the guard is applied inside ``SmtpSession.open``."""
        settings, failure = self._settings, None
        for ip in state.ips:
            try:
                self.stats.connect_attempts += 1
                session = await SmtpSession.open(
                    state.name, ip, settings.smtp_port, helo=self._helo,
                    connect_timeout=settings.smtp_connect_timeout, command_timeout=settings.smtp_command_timeout,
                    allowed=settings.smtp_allow_networks, tls=None if state.plain else self._tls,
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
                return await self._connect(state)
            else:
                self.stats.connections += 1
                return session
        raise failure or ConnectFailed(f"{state.name}: no address to connect to")

    def _fail_all(self, state: _Host, error: SessionError) -> None:
        """A host we cannot talk to fails everything queued for it (so callers move to the next MX)."""
        before_rcpt = isinstance(error, Refused)
        while state.pending:
            state.pending.popleft().answer(Answer(state.name, error.reply, error=error, before_rcpt=before_rcpt))

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

    async def _release(self, state: _Host, session: SmtpSession) -> None:
        self._forget(state)
        await session.close()

    def _forget(self, state: _Host) -> None:
        """A session of ``state`` is gone (or never came): its slot is free."""
        state.open -= 1
        self._open -= 1
        self._slots.release()

    def _expired(self, session: SmtpSession) -> bool:
        return time.monotonic() - session.idle_since > self._settings.smtp_idle_timeout

    # -- housekeeping ----------------------------------------------------------------------------

    def _spawn(self, coroutine: object) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _start_reaper(self) -> None:
        if self._reaper is None or self._reaper.done():
            self._reaper = asyncio.get_running_loop().create_task(self._reap())
            self._tasks.add(self._reaper)
            self._reaper.add_done_callback(self._tasks.discard)

    async def _reap(self) -> None:
        """Close sessions idle longer than the idle timeout; stop when nothing is left to watch."""
        period = max(min(self._settings.smtp_idle_timeout / 2, 5.0), 0.05)
        while any(state.idle or state.workers for state in self._hosts.values()):
            await asyncio.sleep(period)
            for state in list(self._hosts.values()):
                for session in [s for s in state.idle if self._expired(s) or not s.usable]:
                    with contextlib.suppress(ValueError):
                        state.idle.remove(session)
                        await self._release(state, session)
            self._prune()

    def _prune(self) -> None:
        """Forget hosts with nothing going on and nothing learnt, so the table stays bounded."""
        for name, state in list(self._hosts.items()):
            if not (state.idle or state.workers or state.pending or state.open or state.rcpt_limit
                    or state.session_limit or state.plain or state.conn_limit):
                del self._hosts[name]


def _live(pending: deque[Job]) -> bool:
    while pending and pending[0].future.done():
        pending.popleft()  # callers that gave up: never sent
    return bool(pending)
