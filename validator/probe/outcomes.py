"""What the pool's ``Answer`` means as a ``ProbeResult``: the outcome, the reply, and whether to
try the next MX host.

Lives here: the table from a reply's class (``smtp_reply.classify_reply``) to a ``ProbeOutcome``,
which outcomes are about the address itself (worth caching), how a session failure or a refusal
before RCPT TO reads (about the prober, never the address), and RFC 5321's rule for moving on to
the next MX. Pure translation: no sockets, no caches, no clocks; the prober (``prober.py``) fills
in timing, the accept-all answer and the cache.
"""

from __future__ import annotations

from dataclasses import replace

from validator.model import ProbeOutcome, ProbeResult
from validator.probe.host import Answer, refuses_prober
from validator.probe.session import CommandTimeout, ConnectFailed, NotAllowed, Refused, SessionError
from validator.smtp_reply import Reply, ReplyClass, classify_reply

_FROM_CLASS = {
    ReplyClass.ACCEPTED: ProbeOutcome.ACCEPTED,
    ReplyClass.MAILBOX_NOT_FOUND: ProbeOutcome.MAILBOX_NOT_FOUND,
    ReplyClass.MAILBOX_DISABLED: ProbeOutcome.MAILBOX_DISABLED,
    ReplyClass.MAILBOX_FULL: ProbeOutcome.MAILBOX_FULL,
    ReplyClass.GREYLISTED: ProbeOutcome.GREYLISTED,
    ReplyClass.SMTP_UNAVAILABLE: ProbeOutcome.SMTP_UNAVAILABLE,
    ReplyClass.PROBE_BLOCKED: ProbeOutcome.PROBE_BLOCKED,
    ReplyClass.TEMPORARY: ProbeOutcome.SMTP_UNAVAILABLE,  # another 4xx: ask later, nothing learnt
    ReplyClass.REJECTED: ProbeOutcome.REJECTED,
    ReplyClass.UNKNOWN: ProbeOutcome.SMTP_UNAVAILABLE,
}
# Answers about the address itself, worth reusing; trouble and throttling are asked again.
CACHEABLE = {
    ProbeOutcome.ACCEPTED,
    ProbeOutcome.MAILBOX_NOT_FOUND,
    ProbeOutcome.MAILBOX_DISABLED,
    ProbeOutcome.MAILBOX_FULL,
}


def result_of(answer: Answer) -> ProbeResult:
    """One answer as a ProbeResult (accept_all and timing are filled in by the caller)."""
    reply, error = answer.reply, answer.error
    tls = answer.tls
    if error is not None:
        outcome = _failure(error, answer.before_rcpt)
        return _with_reply(ProbeResult(outcome, host=answer.host, tls=tls, detail=error.detail), reply)
    assert reply is not None
    if answer.before_rcpt:
        detail = (
            f"not asked: {answer.host} had just refused the prober"
            if answer.unasked
            else "the server refused the session before RCPT TO"
        )
        return _with_reply(ProbeResult(_refusal(reply), host=answer.host, tls=tls, detail=detail), reply)
    return _with_reply(ProbeResult(_FROM_CLASS[classify_reply(reply)], host=answer.host, tls=tls), reply)


def try_next(answer: Answer) -> bool:
    """RFC 5321 §5.1: an unreachable host, or a temporary refusal of the session (421 busy at the
    greeting), sends the client to the next MX; anything later is this host's answer."""
    if isinstance(answer.error, (ConnectFailed, NotAllowed)):
        return True
    reply = answer.reply
    return isinstance(answer.error, Refused) and reply is not None and reply.code is not None and reply.code // 100 == 4


def _failure(error: SessionError, before_rcpt: bool) -> ProbeOutcome:
    if isinstance(error, NotAllowed):
        return ProbeOutcome.NOT_ALLOWED
    if isinstance(error, CommandTimeout):
        return ProbeOutcome.SMTP_TIMEOUT
    if before_rcpt and error.reply is not None:
        return _refusal(error.reply)
    return ProbeOutcome.SMTP_UNAVAILABLE


def _refusal(reply: Reply) -> ProbeOutcome:
    """A refusal of the greeting, EHLO or MAIL FROM is about the prober, never about the address."""
    return ProbeOutcome.PROBE_BLOCKED if refuses_prober(reply, before_rcpt=True) else ProbeOutcome.SMTP_UNAVAILABLE


def _with_reply(result: ProbeResult, reply: Reply | None) -> ProbeResult:
    if reply is None:
        return result
    return replace(result, code=reply.code, enhanced=reply.enhanced, text=reply.text)
