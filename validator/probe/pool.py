"""Shared SMTP sessions per MX host: bounded, reused, and batched several RCPT TO to a transaction.

Each MX host has a queue of recipients waiting to be asked and at most
``VALIDATOR_SMTP_MAX_CONNECTIONS_PER_HOST`` workers; a worker holds one session at a time, so
the per-host cap is a cap on simultaneous connections, whatever the burst (with replicas sharing
limits, a lease from ``limits.py`` makes it a cap over all of them). A worker takes the queued
recipients in one transaction (``transaction.py``: ``MAIL FROM``, one ``RCPT TO`` each,
``RSET``), keeps the session for the next batch, and closes it after
``VALIDATOR_SMTP_SESSION_RECIPIENTS`` recipients or ``VALIDATOR_SMTP_SESSION_REFUSALS`` refused
ones (``host.py`` says why); an idle session is kept for reuse until ``VALIDATOR_SMTP_IDLE_TIMEOUT``.

Lives here: the queues, the workers and when one more is started, the batches, and closing down.
Must not live here: what is said in a transaction and what its replies do (``transaction.py``),
opening, leasing and closing connections (``connections.py``), sockets (``session.py``), reply
meanings (``smtp_reply``), outcomes and caches (``prober.py``). Nothing here raises to the
caller: a job's future holds an ``Answer``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from validator.probe.connections import PoolStats
from validator.probe.host import Answer, HostState, QueuedRecipient, live
from validator.probe.session import SmtpSession
from validator.probe.transaction import Transactions

__all__ = ["Answer", "QueuedRecipient", "PoolStats", "SessionPool"]


class SessionPool(Transactions):
    """Per-host queues, workers and idle sessions; ``close()`` before the event loop ends."""

    def submit(self, host: str, ips: Sequence[str], recipient: str, utf8: bool, first: bool = False) -> QueuedRecipient:
        """Queue one recipient at ``host`` (``first``: ahead of the queue); its future resolves to an ``Answer``."""
        state = self._hosts.get(host)
        if state is None:
            state = self._hosts[host] = HostState(host)
        state.ips = tuple(ips)
        settings = self._settings
        state.recover(
            settings.smtp_limit_recovery,
            settings.smtp_session_refusals,
            settings.smtp_session_recipients,
            settings.smtp_max_connections_per_host,
        )
        job = QueuedRecipient(recipient, utf8, asyncio.get_running_loop().create_future())
        refusal = state.refusal()
        if self._closing:
            job.future.cancel()
        elif refusal is not None:
            self._answer_unasked(job, refusal)
        else:
            state.pending.appendleft(job) if first else state.pending.append(job)
            # A busy worker takes the queue when its transaction ends (one round trip, or a tarpit's
            # patience), sooner than a new connection greets: one more is opened only for an idle
            # session or a backlog beyond what the sessions open or opening take next; and one at a
            # time (a second while the first still greets would meet a per-client connection limit).
            if state.workers == 0 or (state.workers == state.busy and (state.idle or self._backlog(state))):
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
                    if not state.idle and not self._backlog(state):
                        return  # the sessions open or opening take the queue: no connection to sit unused
                    fresh = self._room(state, None)
                    state.absorb += fresh
                    try:
                        session = await self._session(state)
                    finally:
                        state.absorb -= fresh
                    if session is None:
                        return  # connecting failed: the queued jobs were answered or are left to the other sessions
                batch = self._batch(state, session)
                # what this session may take next time; a slow host's reply may take the whole command
                # timeout, longer than a new connection takes to greet: then its queue is not kept waiting
                room = 0 if state.slow else self._room(state, session, len(batch))
                state.busy += 1
                state.absorb += room
                if self._backlog(state):
                    self._add_worker(state)  # more queued than the sessions take next: open another
                try:
                    usable = await self._transaction(state, session, batch)
                finally:
                    state.busy -= 1
                    state.absorb -= room
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
            if state.workers == state.busy and self._backlog(state) and not self._closing:  # queued as we left
                self._add_worker(state)

    def _room(self, state: HostState, session: SmtpSession | None, batch: int = 0) -> int:
        """Recipients a session (None: a fresh one) may take in its transaction after a ``batch`` under way."""
        sent = session.recipients_sent if session is not None else 0
        room = min(self._session_limit(state) - sent, state.rcpt_limit or self._settings.smtp_session_recipients)
        return max(room - batch, 0)

    def _backlog(self, state: HostState) -> bool:
        """More recipients queued than the sessions open or opening will take in their next transactions."""
        return live(state.pending) and len(state.pending) > state.absorb

    def _batch(self, state: HostState, session: SmtpSession) -> list[QueuedRecipient]:
        room = max(min(self._session_limit(state) - session.recipients_sent, state.rcpt_limit or 1 << 30), 1)
        batch: list[QueuedRecipient] = []
        while state.pending and len(batch) < room:
            job = state.pending.popleft()
            if not job.future.done():
                batch.append(job)
        return batch
