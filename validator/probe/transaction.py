"""What is said inside one pooled SMTP session: a transaction per batch, and what its replies do.

A transaction is ``MAIL FROM``, one ``RCPT TO`` for each recipient of the batch, and ``RSET``.
Where the server offers PIPELINING (RFC 2920) they go out in groups, one round trip each (see
``_transaction``). Each reply answers its recipient's job, or puts the job back at the front of
its host's queue:

* a server that refuses further recipients ("452 4.5.3 Too many recipients") teaches a limit per
  transaction or per connection (``HostState``), and the rest are asked again;
* "421" or "too many errors" (Postfix's ``smtpd_hard_error_limit``) or a reply slower than the
  host's usual (a tarpit, ``HostState.patience``) ends the session, and the host's learnt limits
  shrink (``HostState.learn_trouble``);
* a session stops asking at its refusal cap (``VALIDATOR_SMTP_SESSION_REFUSALS``), before the
  host's own error limits, and a transaction at the cap a host taught for one (Sendmail counts
  refusals per transaction) makes way for the next;
* a host that refuses the prober itself answers every recipient queued for it with that refusal,
  unasked, and is left alone for ``VALIDATOR_SMTP_BLOCK_BACKOFF``.

Must not live here: the queues and workers (``pool.py``), opening and closing connections
(``connections.py``), sockets (``session.py``), what a reply means (``smtp_reply``). Nothing here
raises to the caller: a job's future holds an ``Answer``.
"""

from __future__ import annotations

import ssl
import time
from collections import deque
from collections.abc import Callable

from validator.config import Settings
from validator.probe.connections import Connections
from validator.probe.host import Answer, HostState, QueuedRecipient, refuses_prober
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

    async def _transaction(self, state: HostState, session: SmtpSession, batch: list[QueuedRecipient]) -> bool:
        """MAIL FROM, RCPT TO each, RSET. False when the session must not be used again.

        RFC 2920 (PIPELINING, which Postfix, Exim, Gmail and Microsoft 365 advertise): MAIL FROM and
        the first recipients go out in one write, and recipients in groups no larger than the
        refusals the session may still take, so the refusal cap holds even if every one is refused;
        the RSET that ends a transaction goes out with the next one (§3.1: RSET, MAIL FROM and RCPT
        TO may appear anywhere in a group). One round trip asks up to eight recipients, not one."""
        if not batch:
            return True
        utf8 = "SMTPUTF8" in session.extensions
        for job in [j for j in batch if j.utf8 and not utf8]:
            batch.remove(job)
            job.answer(Answer(state.name, error=SessionError(f"{state.name} does not offer SMTPUTF8 (RFC 6531)")))
        waiting = deque(batch)
        try:
            self.stats.transactions += 1
            smtputf8 = " SMTPUTF8" if any(job.utf8 for job in batch) else ""  # RFC 6531 §3.4
            lines = ["RSET"] if session.open_transaction else []  # left open by a pipelined transaction
            session.transaction_refusals = 0
            lines.append(f"MAIL FROM:{self._sender}{smtputf8}")
            pipelined = "PIPELINING" in session.extensions
            flight = self._group(state, session, waiting) if pipelined else deque()
            rcpts = [f"RCPT TO:<{job.recipient}>" for job in flight]
            began = self._send(session, lines + rcpts) if pipelined else 0.0
            for i, line in enumerate(lines):
                if not pipelined:
                    began = self._send(session, [line])
                reply = await self._read(state, session, began, len(lines) + len(flight) if pipelined and not i else 1)
                began = time.monotonic()
                if reply is None:
                    held = len(flight) if pipelined and not i else 0  # no reply yet to the whole group
                    self._retire(state, session, [*flight, *waiting], len(flight), held)
                    return False
                if reply.code == 421 or says_too_many_errors(reply):  # RFC 5321 §3.8: e.g. an idle session timed out
                    if says_too_many_errors(reply):  # "421 4.7.0 ... Error: too many errors", not an idle timeout
                        state.learn_trouble(session, len(flight))
                    raise Dropped(f"{state.name}: {reply.code} before MAIL FROM", reply)
                if line == "RSET":
                    if reply.code != 250:
                        raise Dropped(f"{state.name}: RSET refused", reply)
                    session.open_transaction = False
                elif reply.code != 250:  # the recipients piped after it get "503 need MAIL", unread: QUIT follows
                    refused = Answer(state.name, reply, tls=session.tls, before_rcpt=True)
                    for job in batch:
                        job.answer(refused)
                    if refuses_prober(reply, before_rcpt=True):
                        self._refused(state, refused)
                    session.ending = True  # no use going on, but QUIT is still in order
                    return True
            session.open_transaction = True
            usable = await self._recipients(state, session, waiting, flight, began)
            if usable and not pipelined and not self._spent(state, session):  # QUIT ends one too (§4.1.1.10)
                session.transaction_refusals = 0
                rset = await self._read(state, session, self._send(session, ["RSET"]), 1)
                if rset is None:
                    self._retire(state, session, [], 0)
                usable = rset is not None and rset.code == 250
                session.open_transaction = not usable
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

    def _group(self, state: HostState, session: SmtpSession, waiting: deque[QueuedRecipient]) -> deque[QueuedRecipient]:
        """The next recipients to send together (``HostState.group_size``)."""
        size = state.group_size(session, self._settings.smtp_session_refusals)
        group: deque[QueuedRecipient] = deque()
        while waiting and len(group) < size:
            job = waiting.popleft()
            if not job.future.done():  # its caller gave up before it was sent
                job.sent = True
                session.recipients_sent += 1
                self.stats.recipients += 1
                group.append(job)
        return group

    async def _recipients(
        self,
        state: HostState,
        session: SmtpSession,
        waiting: deque[QueuedRecipient],
        flight: deque[QueuedRecipient],
        began: float,
    ) -> bool:
        """Read the replies of the recipients in flight, sending the next group when none is left."""
        answered = 0  # recipients this transaction took before any refusal
        while flight or waiting:
            held = 0  # a group's recipients while none of its replies has come
            if not flight:
                flight = self._group(state, session, waiting)
                if not flight:  # a refusal cap is reached: the rest go to the next transaction (or session)
                    state.pending.extendleft(reversed([j for j in waiting if not j.future.done()]))
                    return True
                began, held = self._send(session, [f"RCPT TO:<{job.recipient}>" for job in flight]), len(flight)
            reply = await self._read(state, session, began, held or 1)
            began = time.monotonic()
            job = flight.popleft()
            if reply is None:
                self._retire(state, session, [job, *flight, *waiting], len(flight) + 1, held)
                return False
            if reply.code == 421 or says_too_many_errors(reply):  # RFC 5321 §3.8: closing; not about the address
                state.learn_trouble(session, len(flight) + 1)
                self._retry(state, [job, *flight, *waiting], Dropped(f"{state.name}: {reply.code} mid-session", reply))
                return False
            sent = session.recipients_sent - len(flight)  # RCPT TO of the session up to this one
            if refuses_more_recipients(reply) and (answered or sent > 1):
                state.learn_recipient_limit(sent, answered)
                if not await self._drain(state, session, flight):
                    self._retire(state, session, [job, *flight, *waiting], 0)
                    return False
                self._retry(state, [job, *flight, *waiting], None)
                return answered > 0  # a transaction limit: RSET and go on; a session limit: reconnect
            answer = Answer(state.name, reply, tls=session.tls)
            job.answer(answer)
            if reply.code is None or reply.code // 100 != 2:
                session.refusals += 1
                session.transaction_refusals += 1
            if not session.ending and refuses_prober(reply, before_rcpt=False) and self._refused(state, answer):
                for rest in waiting:  # those in flight are read below: their own replies answer them
                    self._answer_unasked(rest, answer)
                waiting.clear()
                session.ending = True
            else:
                answered += 1
                state.answered = state.answered or not refuses_prober(reply, before_rcpt=False)
        return True

    async def _drain(self, state: HostState, session: SmtpSession, flight: deque[QueuedRecipient]) -> bool:
        """Read the replies still owed to a group whose recipients go back to the queue (false: a tarpit)."""
        for _ in range(len(flight)):
            reply = await self._read(state, session, time.monotonic(), 1)
            if reply is None:
                return False
            refused = reply.code is None or reply.code // 100 != 2
            session.refusals += refused
            session.transaction_refusals += refused
        return True

    def _send(self, session: SmtpSession, lines: list[str]) -> float:
        """Write the lines in one go (one line unless the server offers PIPELINING); when they left."""
        self.stats.round_trips += 1
        session.send(*lines)
        return time.monotonic()

    async def _read(self, state: HostState, session: SmtpSession, since: float, owed: int):  # -> Reply | None
        """The next reply, or None when it is slower than this host's replies usually are: the
        session is being tarpitted (the caller retires it). The first reply to a group of ``owed``
        commands gets a group's patience (``HostState.patience``)."""
        timeout = self._settings.smtp_command_timeout
        patience = state.patience(timeout, owed)
        try:
            reply = await session.read_reply(patience)
        except CommandTimeout:
            if patience >= timeout:
                raise
            return None
        state.observe((time.monotonic() - since) / owed)
        return reply

    def _retire(
        self, state: HostState, session: SmtpSession, jobs: list[QueuedRecipient], unanswered: int, held: int = 0
    ) -> None:
        """A tarpitted session: leave it now and ask its recipients again on a fresh session
        (``unanswered``: RCPT TO sent whose replies never came, ``held`` of them a group none of
        whose replies came; ``HostState.learn_tarpit``)."""
        self.stats.tarpits += 1
        state.learn_tarpit(session, unanswered, held)
        session.retire()
        self._retry(state, jobs, None)

    def _retry(self, state: HostState, jobs: list[QueuedRecipient], error: SessionError | None) -> None:
        """Put unanswered jobs back at the front of the queue, or answer with the failure when tried enough."""
        blocked = state.refusal()
        for job in reversed(jobs):
            if job.future.done():
                continue
            if blocked is not None:  # the host refused the prober meanwhile: not asked again
                self._answer_unasked(job, blocked)
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

    def _answer_unasked(self, job: QueuedRecipient, refusal: Answer) -> None:
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
