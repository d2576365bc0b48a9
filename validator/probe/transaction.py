"""What is said inside one pooled SMTP session: a transaction per batch, and what its replies do.

A transaction is ``MAIL FROM``, one ``RCPT TO`` for each recipient of the batch, and ``RSET``.
Each reply answers its recipient's job, or puts the job back at the front of its host's queue:

* a server that refuses further recipients ("452 4.5.3 Too many recipients") teaches a limit per
  transaction or per connection (``HostState``), and the rest are asked again;
* "421" or "too many errors" (Postfix's ``smtpd_hard_error_limit``) or a reply slower than the
  host's usual (a tarpit, ``HostState.patience``) ends the session, and the host's learnt limits
  shrink (``HostState.learn_trouble``);
* a session stops asking at its refusal cap (``VALIDATOR_SMTP_SESSION_REFUSALS``), before the
  host's own error limits;
* a host that refuses the prober itself answers every recipient queued for it with that refusal,
  unasked, and is left alone for ``VALIDATOR_SMTP_BLOCK_BACKOFF``.

Must not live here: the queues and workers (``pool.py``), opening and closing connections
(``connections.py``), sockets (``session.py``), what a reply means (``smtp_reply``). Nothing here
raises to the caller: a job's future holds an ``Answer``.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable

from validator.config import Settings
from validator.probe.connections import Connections
from validator.probe.host import Answer, HostState, Job, refuses_prober
from validator.probe.limits import ProbeLimits
from validator.probe.session import CommandTimeout, Dropped, Refused, SessionError, SmtpSession
from validator.smtp_reply import refuses_more_recipients, says_too_many_errors

_ATTEMPTS = 2  # asks per recipient when sessions break under it; then the failure is the answer


class Transactions(Connections):
    """Transactions on the pool's sessions and the host queues they answer; subclassed by the pool."""

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
        state.note_lesson()

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
