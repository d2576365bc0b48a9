"""The prober against real Exim 4.96, OpenSMTPD 6.8 and Sendmail 8.17 (Debian's packages, unpacked beside Postfix),
on loopback, with each server's own replies and defences. Postfix has its own module (test_probe_postfix.py).

``tests/support/exim.py``, ``opensmtpd.py`` and ``sendmail.py`` fetch and unpack each package once per machine and
run a private daemon in a mount namespace (root only) on an ephemeral loopback port. Exim answers an unknown local
part "550 Unrouteable address" and drops a session after more than ten non-mail commands (RSET among them) with
"421 ... too many nonmail commands"; OpenSMTPD answers "550 Invalid recipient: <x>" and ends a session after 50
failed recipients; Sendmail, configured as Debian's sendmail.mc is, holds its greeting a second (greet_pause) and
answers every unknown recipient past the third of a transaction a second late (BadRcptThrottle 3). A prober that
resets between transactions must get every answer right within each. When a server cannot run here, its tests are
skipped with the reason (``make test`` passes ``-rs``).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.support import exim, opensmtpd, sendmail
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
    deadline_ms: int = 3000  # a request's timeout_ms
    batch: int = 100  # addresses at DOMAIN in the mixed batch (and a fifth as many at CATCH_ALL)
    slowest_ms: float = 900  # a sequential probe's longest answer
    batch_seconds: float = 10  # the mixed batch's longest time
    settings: dict[str, Any] = field(default_factory=dict)  # beyond tests/support/probing.py's


MTAS = {
    "exim": RealMta(
        exim.unpacked,
        lambda root: exim.EximInstance(root, [f"{u}@{DOMAIN}" for u in USERS], [CATCH_ALL], [DOMAIN]),
        opened="TCP/IP connection count",
        quit="closed by QUIT",
        trouble=re.compile(r"too many nonmail commands|synchronization error|syntax error", re.IGNORECASE),
    ),
    "sendmail": RealMta(
        sendmail.unpacked,
        lambda root: sendmail.SendmailInstance(root, USERS, [CATCH_ALL], [DOMAIN]),
        opened=">>> 220 ",
        quit="<<< QUIT",
        trouble=re.compile(r">>> 421 (?!.*Lost input channel)|not accepting messages|>>> 5\d\d 5\.5\.", re.IGNORECASE),
        # greet_pause holds each greeting a second: the service's default timeouts, the largest deadline, a
        # smaller batch (every session it opens costs a second), and a sequential answer may wait for a greeting.
        # The batch takes about 4 s: a second's greeting, one pipelined group whose replies Sendmail holds while it
        # throttles (its session is retired after 0.75 s), a second session that learns where the throttle starts,
        # and a third whose transactions stop short of it (12 s when the held group made the host look slow)
        deadline_ms=30_000,
        batch=12,
        slowest_ms=1900,
        batch_seconds=6.5,
        settings={"smtp_connect_timeout": 5.0, "smtp_command_timeout": 10.0},
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
    probing = make(smtp_port=instance.port, smtp_domain_rate=1000, **mta.settings)
    point(dns, DOMAIN, "127.0.0.1")
    point(dns, CATCH_ALL, "127.0.0.1")
    emails = [f"user{i}@{DOMAIN}" for i in range(mta.batch)] + [f"anyone{i}@{CATCH_ALL}" for i in range(mta.batch // 5)]
    began = time.monotonic()
    verdicts = await probing.checker.check_many(emails, smtp=True, timeout_ms=mta.deadline_ms)
    elapsed = time.monotonic() - began
    wanted = [
        ProbeOutcome.ACCEPTED
        if e.partition("@")[0] in USERS or e.endswith(CATCH_ALL)
        else ProbeOutcome.MAILBOX_NOT_FOUND
        for e in emails
    ]
    assert [v.smtp.outcome for v in verdicts] == wanted, instance.log()[-3000:]
    assert all(v.smtp.accept_all for v in verdicts[mta.batch :])
    assert not any(v.smtp.accept_all for v in verdicts[: mta.batch])
    assert elapsed < mta.batch_seconds
    await probing.prober.close()
    connections = probing.prober.pool_stats.connections
    for _ in range(100):  # a retired session's QUIT is read after the commands before it (Sendmail: throttled)
        if (log := instance.log()).count(mta.quit) >= connections:
            break
        await asyncio.sleep(0.1)
    assert not mta.trouble.search(log), mta.trouble.search(log)
    assert log.count(mta.opened) == connections + 1  # + the fixture's start-up port check
    assert log.count(mta.quit) == connections  # every probing session ended politely


async def test_sequential_unknown_mailboxes_are_answered_fast(make, dns, server):
    mta, instance = server
    probing = make(smtp_port=instance.port, smtp_domain_rate=1000, **mta.settings)
    point(dns, DOMAIN, "127.0.0.1")
    for i in range(30):
        verdict = await probing.check(f"nobody{i}@{DOMAIN}", timeout_ms=mta.deadline_ms)
        assert verdict.smtp.outcome is ProbeOutcome.MAILBOX_NOT_FOUND, verdict.smtp
        assert verdict.smtp.elapsed_ms < mta.slowest_ms
    assert probing.prober.pool_stats.tarpits == 0
    assert not mta.trouble.search(instance.log())
