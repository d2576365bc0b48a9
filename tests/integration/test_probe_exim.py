"""The prober against a real Exim 4.96 (Debian's package, unpacked beside Postfix) on loopback, with Exim's own
replies and its default limit on non-mail commands.

``tests/support/exim.py`` fetches and unpacks Exim once per machine and runs a private daemon in a mount namespace
(root only) on an ephemeral loopback port. Exim answers an unknown local part "550 Unrouteable address" and, by
default (``smtp_accept_max_nonmail = 10``), drops a session that sends more than ten non-mail commands (RSET among
them) with "421 ... too many nonmail commands": a prober that resets between transactions must learn that limit
without one wrong answer. When Exim cannot run here, every test is skipped with the reason (``make test`` passes
``-rs``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.support.exim import EximInstance, unpacked
from tests.support.probing import point
from validator.model import ProbeOutcome

DOMAIN, CATCH_ALL = "exim-mail.com", "exim-catch-all.com"
EXISTING = [f"user{i}@{DOMAIN}" for i in range(0, 100, 4)]
_TOO_MANY = re.compile(r"too many nonmail commands", re.IGNORECASE)


@pytest.fixture(scope="module")
def exim() -> Iterator[EximInstance]:
    root = unpacked()
    if isinstance(root, str):
        pytest.skip(f"no real Exim: {root}")
    with EximInstance(root, EXISTING, [CATCH_ALL], [DOMAIN]) as instance:
        yield instance


def sessions(instance: EximInstance) -> tuple[int, int]:
    """(sessions opened, sessions the client ended with QUIT), from Exim's +smtp_connection log lines."""
    log = instance.log()
    return log.count("TCP/IP connection count"), log.count("closed by QUIT")


async def test_a_mixed_batch_gets_every_answer_right_within_exims_limits(make, dns, exim):
    probing = make(smtp_port=exim.port, smtp_domain_rate=1000)
    point(dns, DOMAIN, "127.0.0.1")
    point(dns, CATCH_ALL, "127.0.0.1")
    emails = [f"user{i}@{DOMAIN}" for i in range(100)] + [f"anyone{i}@{CATCH_ALL}" for i in range(20)]
    verdicts = await probing.checker.check_many(emails, smtp=True, timeout_ms=3000)
    wanted = [
        ProbeOutcome.ACCEPTED if e in EXISTING or e.endswith(CATCH_ALL) else ProbeOutcome.MAILBOX_NOT_FOUND
        for e in emails
    ]
    assert [v.smtp.outcome for v in verdicts] == wanted, exim.log()[-3000:]
    assert all(v.smtp.accept_all for v in verdicts[100:])
    assert not any(v.smtp.accept_all for v in verdicts[:100])
    await probing.prober.close()
    log = exim.log()
    assert log.count("rejected RCPT") >= 75  # Exim itself refused every unknown local part it was asked about
    # nothing Exim counts against a client: no limit reached, no pipelining out of turn, no syntax error
    assert not _TOO_MANY.search(log) and "synchronization error" not in log and "syntax error" not in log.lower()
    opened, quit_ = sessions(exim)
    assert opened == probing.prober.pool_stats.connections + 1  # + the fixture's start-up port check
    assert quit_ == probing.prober.pool_stats.connections  # every probing session ended politely


async def test_sequential_unknown_mailboxes_are_answered_fast(make, dns, exim):
    probing = make(smtp_port=exim.port, smtp_domain_rate=1000)
    point(dns, DOMAIN, "127.0.0.1")
    for i in range(30):
        verdict = await probing.check(f"nobody{i}@{DOMAIN}", timeout_ms=3000)
        assert verdict.smtp.outcome is ProbeOutcome.MAILBOX_NOT_FOUND, verdict.smtp
        assert verdict.smtp.elapsed_ms < 900
    assert probing.prober.pool_stats.tarpits == 0
    assert not _TOO_MANY.search(exim.log())
