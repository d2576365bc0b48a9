"""The prober against real Exim 4.96 and OpenSMTPD 6.8 (Debian's packages, unpacked beside Postfix), on loopback,
with each server's own replies and default limits. Postfix has its own module (test_probe_postfix.py).

``tests/support/exim.py`` and ``opensmtpd.py`` fetch and unpack each package once per machine and run a private
daemon in a mount namespace (root only) on an ephemeral loopback port. Exim answers an unknown local part "550
Unrouteable address" and drops a session after more than ten non-mail commands (RSET among them) with "421 ...
too many nonmail commands"; OpenSMTPD answers "550 Invalid recipient: <x>" and ends a session after 50 failed
recipients. A prober that resets between transactions must stay within both without one wrong answer. When a
server cannot run here, its tests are skipped with the reason (``make test`` passes ``-rs``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support import exim, opensmtpd
from tests.support.probing import point
from validator.model import ProbeOutcome

DOMAIN, CATCH_ALL = "real-mta-mail.com", "real-mta-catch-all.com"
USERS = [f"user{i}" for i in range(0, 100, 4)]


@dataclass(frozen=True)
class RealMta:
    """How to start one server, and how to read its log: sessions opened and ended by QUIT, and the words of a
    limit reached or a client error it counts against the prober."""

    unpacked: Callable[[], Any]
    start: Callable[[Any], Any]
    opened: str
    quit: str
    trouble: re.Pattern[str]


MTAS = {
    "exim": RealMta(
        exim.unpacked,
        lambda root: exim.EximInstance(root, [f"{u}@{DOMAIN}" for u in USERS], [CATCH_ALL], [DOMAIN]),
        opened="TCP/IP connection count",
        quit="closed by QUIT",
        trouble=re.compile(r"too many nonmail commands|synchronization error|syntax error", re.IGNORECASE),
    ),
    "opensmtpd": RealMta(
        opensmtpd.unpacked,
        lambda root: opensmtpd.OpenSmtpdInstance(root, USERS, [CATCH_ALL], [DOMAIN]),
        opened="smtp connected",
        quit="smtp disconnected reason=quit",
        trouble=re.compile(r"too many|kick|bad input|protocol error", re.IGNORECASE),
    ),
}


@pytest.fixture(scope="module", params=sorted(MTAS))
def server(request) -> Iterator[tuple[RealMta, Any]]:
    mta = MTAS[request.param]
    root = mta.unpacked()
    if isinstance(root, str):
        pytest.skip(f"no real {request.param}: {root}")
    with mta.start(root) as instance:
        yield mta, instance


async def test_a_mixed_batch_gets_every_answer_right_within_the_servers_limits(make, dns, server):
    mta, instance = server
    probing = make(smtp_port=instance.port, smtp_domain_rate=1000)
    point(dns, DOMAIN, "127.0.0.1")
    point(dns, CATCH_ALL, "127.0.0.1")
    emails = [f"user{i}@{DOMAIN}" for i in range(100)] + [f"anyone{i}@{CATCH_ALL}" for i in range(20)]
    verdicts = await probing.checker.check_many(emails, smtp=True, timeout_ms=3000)
    wanted = [
        ProbeOutcome.ACCEPTED
        if e.partition("@")[0] in USERS or e.endswith(CATCH_ALL)
        else ProbeOutcome.MAILBOX_NOT_FOUND
        for e in emails
    ]
    assert [v.smtp.outcome for v in verdicts] == wanted, instance.log()[-3000:]
    assert all(v.smtp.accept_all for v in verdicts[100:])
    assert not any(v.smtp.accept_all for v in verdicts[:100])
    await probing.prober.close()
    log = instance.log()
    assert not mta.trouble.search(log), mta.trouble.search(log)
    connections = probing.prober.pool_stats.connections
    assert log.count(mta.opened) == connections + 1  # + the fixture's start-up port check
    assert log.count(mta.quit) == connections  # every probing session ended politely


async def test_sequential_unknown_mailboxes_are_answered_fast(make, dns, server):
    mta, instance = server
    probing = make(smtp_port=instance.port, smtp_domain_rate=1000)
    point(dns, DOMAIN, "127.0.0.1")
    for i in range(30):
        verdict = await probing.check(f"nobody{i}@{DOMAIN}", timeout_ms=3000)
        assert verdict.smtp.outcome is ProbeOutcome.MAILBOX_NOT_FOUND, verdict.smtp
        assert verdict.smtp.elapsed_ms < 900
    assert probing.prober.pool_stats.tarpits == 0
    assert not mta.trouble.search(instance.log())
