"""What the prober knows about one MX host: its queue, its sessions, and the limits it has taught us.

Mail servers defend against address harvesting by counting a client's refused recipients. Postfix,
with its defaults (https://www.postfix.org/postconf.5.html): ``smtpd_soft_error_limit = 10`` errors
in a session, after which every reply is delayed by ``smtpd_error_sleep_time = 1s``, and
``smtpd_hard_error_limit = 20``, after which the session is dropped with "421 4.7.0 ... Error: too
many errors". Exim delays or drops a client after failed recipients through its RCPT ACL (``delay``,
``ratelimit``) and caps recipients per message with ``recipients_max``. So a session here is ended,
politely, after ``VALIDATOR_SMTP_SESSION_REFUSALS`` refusals, well before such limits, and a host
that still slows a session down or drops it teaches a lower limit for its later sessions. Sendmail
counts a transaction's refused recipients instead (``BadRcptThrottle``: each MAIL FROM starts again
at zero), so a host may teach a cap per transaction, past which a session goes on with a new one.

Lives here: that bookkeeping, the patience a reply is given before a session counts as tarpitted,
and the memory of a host that refused the prober. No sockets: the pool reads and passes replies in.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field

from validator.probe.session import SessionError, SmtpSession
from validator.smtp_reply import Reply, ReplyClass, classify_reply

# A reply this many times slower than the host's usual, and slower than the floor, marks a tarpit.
# Postfix's error sleep turns sub-millisecond loopback replies (tens of ms across the internet) into
# one second; the floor keeps ordinary jitter and slow recipient lookups from retiring healthy sessions.
TARPIT_FACTOR = 8.0
TARPIT_FLOOR = 0.25  # seconds
_SMOOTHING = 0.2  # weight of a new sample in the host's usual reply time


@dataclass(frozen=True, slots=True)
class Answer:
    """The server's reply to one RCPT TO, or the failure that prevented it."""

    host: str
    reply: Reply | None = None
    error: SessionError | None = None
    tls: bool = False
    before_rcpt: bool = False  # the reply refused MAIL FROM or the session, not this recipient
    unasked: bool = False  # never sent: the host had just refused the prober (``reply`` is that refusal)


@dataclass(eq=False, slots=True)
class QueuedRecipient:
    """One recipient waiting for its RCPT TO reply."""

    recipient: str  # the wire form, already checked
    utf8: bool  # needs SMTPUTF8 (RFC 6531)
    future: asyncio.Future[Answer]
    attempts: int = 0
    sent: bool = False  # its RCPT TO went out at least once (it counts against the domain's rate)

    def answer(self, answer: Answer) -> None:
        if not self.future.done():  # the caller may have given up at its deadline
            self.future.set_result(answer)


def refuses_prober(reply: Reply, before_rcpt: bool) -> bool:
    """The reply refuses the prober itself (its IP, name or sender), not one address.

    Before RCPT TO any permanent refusal is about us; at RCPT TO only the reply's words or a 5.7.x
    code can say so (Spamhaus via Postfix: "554 5.7.1 Service unavailable; Client host [192.0.2.1]
    blocked using zen.spamhaus.org"). A 4xx "service not available" before RCPT is a busy host."""
    cls = classify_reply(reply)
    if cls is ReplyClass.PROBE_BLOCKED:
        return True
    return before_rcpt and cls is not ReplyClass.SMTP_UNAVAILABLE and reply.code is not None and reply.code // 100 == 5


@dataclass(eq=False, slots=True)
class HostState:
    name: str
    ips: tuple[str, ...] = ()
    pending: deque[QueuedRecipient] = field(default_factory=deque)
    idle: list[SmtpSession] = field(default_factory=list)
    open: int = 0  # sessions open or opening
    workers: int = 0
    busy: int = 0  # workers inside a transaction
    absorb: int = 0  # recipients the sessions open or opening will take in their next transactions
    rcpt_limit: int | None = None  # learnt: the most recipients the server takes in one transaction
    session_limit: int | None = None  # learnt: the most recipients the server takes in one connection
    refusal_limit: int | None = None  # learnt: refusals a session survives before the host slows it or drops it
    transaction_refusal_limit: int | None = None  # learnt: refusals a transaction survives before the host slows it
    lockstep: bool = False  # learnt: it held a group's replies while it slowed one: one RCPT TO a round trip
    plain: bool = False  # learnt: STARTTLS fails here, so opportunistic TLS goes on without it
    conn_limit: int | None = None  # learnt when a further connection failed while others were open
    usual: float | None = None  # seconds, the smoothed time of this host's replies that were not slowed
    blocked: Answer | None = None  # the host refused the prober ...
    blocked_until: float = 0.0  # ... and is left alone until then (time.monotonic)
    tarpits: int = 0  # sessions retired because their replies slowed down
    slow: bool = False  # a fresh session answered no recipient in time: replies are waited for
    answered: bool = False  # a recipient was answered without a refusal of the prober: groups may be pipelined
    lesson_at: float = 0.0  # when the host last taught a limit (time.monotonic), or last relaxed one

    def patience(self, command_timeout: float, owed: int = 1) -> float:
        """How long a reply may take before the session counts as tarpitted. The first reply to a
        pipelined group of ``owed`` commands may take their usual time ``owed`` times over (RFC 2920
        §3.2 lets a server hold a group's replies until it has read it all, and real ones do). The
        floor is for jitter, which does not grow with a group: it grows for the three commands that
        open a transaction (RSET, MAIL FROM, RCPT TO), no further, so a throttle that holds a group
        of eight (Sendmail's) is met after 0.75 s, not 2 s."""
        if self.usual is None or self.slow:
            return command_timeout
        floor = TARPIT_FLOOR * min(max(owed, 1), 3)
        return min(command_timeout, max(floor, TARPIT_FACTOR * self.usual * owed))

    def observe(self, seconds: float) -> None:
        """A reply that came within patience: it shapes what "usual" means for this host."""
        self.usual = seconds if self.usual is None else (1 - _SMOOTHING) * self.usual + _SMOOTHING * seconds

    def refusal_cap(self, configured: int) -> int:
        return configured if self.refusal_limit is None else min(configured, self.refusal_limit)

    def transaction_cap(self, configured: int) -> int:
        cap = self.refusal_cap(configured)
        return cap if self.transaction_refusal_limit is None else min(cap, self.transaction_refusal_limit)

    def group_size(self, session: SmtpSession, configured: int) -> int:
        """How many recipients to send together: as many as the session and its transaction may still
        have refused (so a cap holds even if all are refused), once the host has answered one, and
        one at a time where it held a group's replies while it slowed one (``learn_trouble``)."""
        size = min(
            self.refusal_cap(configured) - session.refusals,
            self.transaction_cap(configured) - session.transaction_refusals,
        )
        if "PIPELINING" not in session.extensions or not self.answered or self.lockstep:
            size = min(size, 1)  # a host that refuses the prober (an RBL at RCPT TO) sees one recipient, not a group
        return size

    def learn_recipient_limit(self, sent: int, answered: int) -> None:
        """ "Too many recipients" at the ``sent``-th RCPT TO of the session, after ``answered`` in this transaction."""
        if answered > 0:
            self.rcpt_limit = answered
        else:
            self.session_limit = sent - 1
        self.note_lesson()

    def learn_trouble(self, session: SmtpSession, unanswered: int = 0, slowed: bool = False, held: int = 0) -> None:
        """The host slowed this session down (``slowed``) or dropped it ("421 ... too many errors"):
        later sessions stop short of where this one was. Errors are what such hosts count; without
        any, recipients (those answered: ``unanswered`` RCPT TO were still in flight).

        Postfix counts a session's errors, Sendmail a transaction's refused recipients (its
        ``BadRcptThrottle`` sleeps a second before every RCPT TO past the third refusal since MAIL
        FROM). A slowdown in a session's first transaction with refusals could be either. Where a new
        session is dear (it took longer to open than a slowed reply takes to notice: Sendmail holds
        every greeting a second) it is taken for a cap per transaction, past which the session goes
        on with RSET and MAIL FROM; a host that counts per session shows it by slowing a later
        transaction, and teaches a session cap then, at the price of one more retired session.
        Where a new session is cheap, and after a drop, it is a session cap at once.

        ``held``: the late reply was the first of a pipelined group of that many recipients, which
        the host held back while it slowed one of them (Sendmail writes nothing while commands wait
        unread; RFC 2920 §3.2 allows it): which one is unknown, so later groups go one recipient at a
        time until a cap is learnt; unless the group stayed within the transaction cap, which only a
        count per session explains (Postfix holds the replies before a delayed one too)."""
        refusals, in_transaction = session.refusals, session.transaction_refusals
        cap = self.transaction_refusal_limit
        if held > 1 and not (refusals and cap is not None and in_transaction + held <= cap):
            self.lockstep = True
        elif held > 1:  # slowed within the transaction cap, after ``refusals`` of the session
            self.refusal_limit = _lowered(self.refusal_limit, refusals + 1)
            self.lockstep = False
        elif refusals >= 1 and slowed and in_transaction == refusals and session.opening > self._notice():
            self.transaction_refusal_limit = _lowered(cap, refusals)
            self.lockstep = False
        elif refusals >= 1:
            self.refusal_limit = _lowered(self.refusal_limit, refusals)
            self.lockstep = False
        elif (recipients := session.recipients_sent - unanswered) >= 2:
            self.session_limit = _lowered(self.session_limit, recipients)
        self.note_lesson()

    def _notice(self) -> float:
        """How long a slowed reply takes to notice (the patience without the command timeout)."""
        return max(TARPIT_FLOOR, TARPIT_FACTOR * (self.usual or 0.0))

    def learn_tarpit(self, session: SmtpSession, unanswered: int, held: int) -> None:
        """A session was retired because a reply came too late (``learn_trouble`` for the arguments).
        A host slow from a session's first recipient on is slow for everyone: its replies are waited
        for from then on. One that answered recipients first slowed down after them (a throttle), and
        a group held back may hide a prompt first reply (another session had the first recipient
        alone): a fresh session beats waiting."""
        self.tarpits += 1
        if session.recipients_sent == unanswered and session.refusals == 0 and held <= 1:
            self.slow = True
        self.learn_trouble(session, unanswered, slowed=True, held=held)

    def note_lesson(self) -> None:
        """The host has just taught a limit (or that it is slow, or that its STARTTLS fails)."""
        self.lesson_at = time.monotonic()

    def recover(self, quiet: float, refusals: int, recipients: int, connections: int) -> None:
        """After ``quiet`` seconds without a lesson (0: never), every learnt limit steps halfway back
        toward the configured one (``refusals``, ``recipients``, ``connections``) and is forgotten on
        reaching it; ``slow``, ``plain`` and ``lockstep`` are forgotten. A host that slowed us down
        once (a load spike, a greylisting burst) is not held to it for good: one that still defends
        itself teaches the limit again, at the price of one slowed or dropped session per quiet period."""
        if quiet <= 0 or not self.lesson_at or time.monotonic() - self.lesson_at < quiet:
            return
        self.refusal_limit = _relaxed(self.refusal_limit, refusals)
        self.transaction_refusal_limit = _relaxed(self.transaction_refusal_limit, refusals)
        self.session_limit = _relaxed(self.session_limit, recipients)
        self.rcpt_limit = _relaxed(self.rcpt_limit, recipients)
        self.conn_limit = _relaxed(self.conn_limit, connections)
        self.slow = self.plain = self.lockstep = False
        learnt = (
            self.refusal_limit
            or self.transaction_refusal_limit
            or self.session_limit
            or self.rcpt_limit
            or self.conn_limit
        )
        self.lesson_at = time.monotonic() if learnt else 0.0

    def block(self, answer: Answer, seconds: float) -> None:
        self.blocked, self.blocked_until = answer, time.monotonic() + seconds

    def refusal(self) -> Answer | None:
        """The refusal still honoured, if any."""
        if self.blocked is not None and self.blocked_until <= time.monotonic():
            self.blocked = None
        return self.blocked

    def learnt_anything(self) -> bool:
        return bool(
            self.rcpt_limit
            or self.session_limit
            or self.refusal_limit
            or self.transaction_refusal_limit
            or self.lockstep
            or self.plain
            or self.conn_limit
            or self.refusal() is not None
        )


def _lowered(limit: int | None, seen: int) -> int:
    """A limit one below where the host struck (``seen`` refusals or recipients), never raised, at least one."""
    return max(1, min(limit or seen, seen - 1))


def _relaxed(limit: int | None, configured: int) -> int | None:
    """Halfway from a learnt limit back to the configured one (at least one step); None on arrival."""
    if limit is None:
        return None
    limit += max(1, (configured - limit + 1) // 2)
    return None if limit >= configured else limit


def live(pending: deque[QueuedRecipient]) -> bool:
    """Whether any queued job still waits; jobs whose callers gave up (never sent) are dropped."""
    while pending and pending[0].future.done():
        pending.popleft()
    return bool(pending)
