"""Shared SMTP sessions per MX host: bounded, reused, and batched several RCPT TO to a transaction.

Each MX host has a queue of recipients waiting to be asked and at most
``VALIDATOR_SMTP_MAX_CONNECTIONS_PER_HOST`` workers; a worker holds one session at a time, so
the per-host cap is a cap on simultaneous connections, whatever the burst (with replicas sharing
limits, a lease from ``probe_limits`` makes it a cap over all of them). A worker takes the queued
recipients in one transaction (``MAIL FROM``, one ``RCPT TO`` each, ``RSET``), keeps the session
for the next batch, and closes it after ``VALIDATOR_SMTP_SESSION_RECIPIENTS`` recipients or
``VALIDATOR_SMTP_SESSION_REFUSALS`` refused ones (``probe_host`` says why); an idle session is
kept for reuse until ``VALIDATOR_SMTP_IDLE_TIMEOUT``.

A server that refuses further recipients ("452 4.5.3 Too many recipients"), drops the session,
says "too many errors" or slows its replies down (a tarpit) never yields a wrong answer: the
recipients it did not answer go back to the front of the queue and are asked again on a new
transaction or connection (after a failure, at most ``_ATTEMPTS`` times each). A host that
refuses the prober itself answers every recipient queued for it with that refusal, unasked.

Must not live here: reply meanings (``smtp_reply``), outcomes and caches (``probe.py``), opening,
leasing and closing connections (``probe_connections.py``), sockets (``smtp_session.py``). Nothing here raises to the caller: a job's future holds an ``Answer``.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable, Sequence

from validator.config import Settings
from validator.probe.connections import Connections, PoolStats
from validator.probe.host import Answer, HostState, Job, live, refuses_prober
from validator.probe.limits import ProbeLimits
from validator.probe.session import CommandTimeout, Dropped, Refused, SessionError, SmtpSession
from validator.smtp_reply import refuses_more_recipients, says_too_many_errors

__all__ = ["Answer", "Job", "PoolStats", "SessionPool"]

_ATTEMPTS = 2  # asks per recipient when sessions break under it; then the failure is the answer


class SessionPool(Connections):
    """Per-host queues, workers and idle sessions; ``close()`` before the event loop ends."""

    def __init__(
        self,
        settings: Settings,
        helo: str,
        tls: ssl.SSLContext | None,
        limits: ProbeLimits,
        on_block: Callable[[str, Answer], None] | None = None,
    ) -> None:
        super().__init__(settings, helo, tls, limits)
        self._on_block = on_block  # told when a host refuses the prober (to share it with other replicas)
        self._sender = f"<{settings.smtp_mail_from}>"

    def submit(self, host: str, ips: Sequence[str], recipient: str, utf8: bool, first: bool = False) -> Job:
        """Queue one recipient at ``host`` (``first``: ahead of the queue); its future resolves to an ``Answer``."""
        state = self._hosts.get(host)
        if state is None:
            state = self._hosts[host] = HostState(host)
        state.ips = tuple(ips)
        job = Job(recipient, utf8, asyncio.get_running_loop().create_future())
        refusal = state.refusal()
        if self._closing:
            job.future.cancel()
        elif refusal is not None:
            self._answer_unasked(job, refusal)
        else:
            state.pending.appendleft(job) if first else state.pending.append(job)
            # A busy worker takes the queue when its transaction ends (milliseconds, or a tarpit's
            # patience): one more connection is opened only for a backlog or an idle session.
            if state.workers == 0 or (state.workers == state.busy and (state.idle or len(state.pending) > 1)):
                self._add_worker(state)
            self._start_reaper()
        return job

    def refusal(self, host: str) -> Answer | None:
        """The refusal of the prober that ``host`` gave, while it is honoured."""
        state = self._hosts.get(host)
        return state.refusal() if state is not None else None

    def learn_refusal(self, host: str, answer: Answer, seconds: float) -> None:
        """Another replica was refused by ``host``: leave it alone here too."""
        state = self._hosts.setdefault(host, HostState(host))
        state.block(answer, seconds)
        self._refuse_pending(state, answer)

    def _add_worker(self, state: HostState) -> None:
        """One more worker if the host's cap allows; workers grow only with the backlog."""
        cap = self._settings.smtp_max_connections_per_host
        if state.workers < (cap if state.conn_limit is None else min(cap, state.conn_limit)):
            state.workers += 1
            self._spawn(self._work(state))

    async def close(self) -> None:
        """Stop the workers (a transaction under way gets a second to end), QUIT every idle session."""
        self._closing = True
        for state in self._hosts.values():
            for job in state.pending:
                job.future.cancel()
        if self._reaper is not None:
            self._reaper.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=1.0)
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

    async def _work(self, state: HostState) -> None:
        session: SmtpSession | None = None
        try:
            while live(state.pending):
                if session is None:
                    session = await self._session(state)
                    if session is None:
                        return  # connecting failed: the queued jobs were answered or are left to the other sessions
                batch = self._batch(state, session)
                if live(state.pending):
                    self._add_worker(state)  # a backlog beyond this batch: open another session
                state.busy += 1
                try:
                    usable = await self._transaction(state, session, batch)
                finally:
                    state.busy -= 1
                if not usable or self._spent(state, session):
                    self.stats.refusal_closes += session.refusals >= state.refusal_cap(
                        self._settings.smtp_session_refusals
                    )
                    await self._release(state, session, quit_=usable)
                    session = None
        except BaseException:  # cancelled (close) mid-command: the session's state is unknown, never reuse it
            if session is not None:
                session.abort()
                self._forget(state, session)
                session = None
            raise
        finally:
            state.workers -= 1
            if session is not None and self._waiting:  # another host needs the slot more than we do
                await self._release(state, session)
            elif session is not None:
                session.idle_since = time.monotonic()
                state.idle.append(session)
            if live(state.pending) and state.workers == state.busy and not self._closing:  # queued as we left
                self._add_worker(state)

    def _batch(self, state: HostState, session: SmtpSession) -> list[Job]:
        room = max(self._session_limit(state) - session.recipients_sent, 1)  # a spent session gets no batch
        if state.rcpt_limit is not None:
            room = min(room, state.rcpt_limit)
        batch: list[Job] = []
        while state.pending and len(batch) < room:
            job = state.pending.popleft()
            if not job.future.done():
                batch.append(job)
        return batch

    def _spent(self, state: HostState, session: SmtpSession) -> bool:
        """Time to QUIT: the recipient or refusal cap is reached, or the pool decided to end it."""
        return (
            session.ending
            or session.recipients_sent >= self._session_limit(state)
            or session.refusals >= state.refusal_cap(self._settings.smtp_session_refusals)
            or not session.usable
        )

    def _session_limit(self, state: HostState) -> int:
        limit = self._settings.smtp_session_recipients
        return limit if state.session_limit is None else min(limit, state.session_limit)

    async def _transaction(self, state: HostState, session: SmtpSession, batch: list[Job]) -> bool:
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
            reply = await self._command(state, session, f"MAIL FROM:{self._sender}{smtputf8}")
            if reply is None:
                self._retire(state, session, batch)
                return False
            if reply.code == 421 or says_too_many_errors(reply):  # RFC 5321 §3.8: e.g. an idle session timed out
                if says_too_many_errors(reply):  # "421 4.7.0 ... Error: too many errors", not an idle timeout
                    state.learn_trouble(session)
                raise Dropped(f"{state.name}: {reply.code} before MAIL FROM", reply)
            if reply.code != 250:
                refused = Answer(state.name, reply, tls=session.tls, before_rcpt=True)
                for job in batch:
                    job.answer(refused)
                if refuses_prober(reply, before_rcpt=True):
                    self._refused(state, refused)
                session.ending = True  # no use going on, but QUIT is still in order
                return True
            usable = await self._recipients(state, session, batch)
            if usable and not self._spent(state, session):  # QUIT ends a transaction too (RFC 5321 §4.1.1.10)
                rset = await self._command(state, session, "RSET")
                if rset is None:
                    self._retire(state, session, [])
                usable = rset is not None and rset.code == 250
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

    async def _recipients(self, state: HostState, session: SmtpSession, batch: list[Job]) -> bool:
        answered = 0  # recipients this transaction took before any refusal
        cap = state.refusal_cap(self._settings.smtp_session_refusals)
        for i, job in enumerate(batch):
            if job.future.done():
                continue
            if session.refusals >= cap:  # the host counts refusals: QUIT, the rest go to a fresh session
                state.pending.extendleft(reversed([j for j in batch[i:] if not j.future.done()]))
                return True
            job.sent = True
            reply = await self._command(state, session, f"RCPT TO:<{job.recipient}>")
            session.recipients_sent += 1
            self.stats.recipients += 1
            if reply is None:
                self._retire(state, session, batch[i:])
                return False
            if reply.code == 421 or says_too_many_errors(reply):  # RFC 5321 §3.8: closing; not about the address
                state.learn_trouble(session)
                self._retry(state, batch[i:], Dropped(f"{state.name}: {reply.code} mid-session", reply))
                return False
            if refuses_more_recipients(reply) and (answered or session.recipients_sent > 1):
                self._learn_limit(state, session, answered)
                self._retry(state, batch[i:], None)
                return answered > 0  # a transaction limit: RSET and go on; a session limit: reconnect
            answer = Answer(state.name, reply, tls=session.tls)
            job.answer(answer)
            if reply.code is None or reply.code // 100 != 2:
                session.refusals += 1
            if refuses_prober(reply, before_rcpt=False) and self._refused(state, answer):
                for rest in batch[i + 1 :]:
                    self._answer_unasked(rest, answer)
                session.ending = True
                return True
            answered += 1
        return True

    async def _command(self, state: HostState, session: SmtpSession, line: str):  # -> Reply | None
        """The reply to ``line``, or None when it is slower than this host's replies usually are:
        the session is being tarpitted (the caller retires it)."""
        timeout = self._settings.smtp_command_timeout
        patience = state.patience(timeout)
        began = time.monotonic()
        session.send(line)
        try:
            reply = await session.read_reply(patience)
        except CommandTimeout:
            if patience >= timeout:
                raise
            return None
        state.observe(time.monotonic() - began)
        return reply

    def _retire(self, state: HostState, session: SmtpSession, jobs: list[Job]) -> None:
        """A tarpitted session: leave it now and ask its recipients again on a fresh session."""
        self.stats.tarpits += 1
        state.tarpits += 1
        state.learn_trouble(session)
        session.retire()
        if session.recipients_sent <= 1 and session.refusals == 0:
            state.slow = True  # slow from its first recipient on: the host is slow, not this session; wait for it
        self._retry(state, jobs, None)

    def _learn_limit(self, state: HostState, session: SmtpSession, answered: int) -> None:
        if answered > 0:
            state.rcpt_limit = answered
        else:
            state.session_limit = session.recipients_sent - 1

    def _retry(self, state: HostState, jobs: list[Job], error: SessionError | None) -> None:
        """Put unanswered jobs back at the front of the queue, or answer with the failure when tried enough."""
        for job in reversed(jobs):
            if job.future.done():
                continue
            job.attempts += error is not None
            if error is not None and job.attempts >= _ATTEMPTS:
                job.answer(Answer(state.name, error.reply, error=error))
            else:
                self.stats.retries += 1
                state.pending.appendleft(job)

    def _refused(self, state: HostState, answer: Answer) -> bool:
        """The host refused the prober: nothing queued for it is sent, and nothing later for a while
        (unless backing off is turned off: then False)."""
        if self._settings.smtp_block_backoff <= 0:
            return False
        state.block(answer, self._settings.smtp_block_backoff)
        self._refuse_pending(state, answer)
        if self._on_block is not None:
            self._on_block(state.name, answer)
        return True

    def _refuse_pending(self, state: HostState, answer: Answer) -> None:
        while state.pending:
            self._answer_unasked(state.pending.popleft(), answer)

    def _answer_unasked(self, job: Job, refusal: Answer) -> None:
        if not job.future.done():
            self.stats.unasked += 1
            job.answer(Answer(refusal.host, refusal.reply, tls=refusal.tls, before_rcpt=True, unasked=True))

    def _fail_all(self, state: HostState, error: SessionError) -> None:
        """A host we cannot talk to fails everything queued for it (so callers move to the next MX)."""
        before_rcpt = isinstance(error, Refused)
        first = None
        while state.pending:
            job = state.pending.popleft()
            first = first or Answer(state.name, error.reply, error=error, before_rcpt=before_rcpt)
            job.answer(first)
        if before_rcpt and error.reply is not None and refuses_prober(error.reply, before_rcpt=True):
            self._refused(state, Answer(state.name, error.reply, before_rcpt=True))
