"""How the prober spends connections and round trips at one MX host, counted at a scripted server.

Every connection counts against a host's limits (Postfix's anvil counts connections and their
rate per client: ``smtpd_client_connection_count_limit``, ``smtpd_client_connection_rate_limit``,
https://www.postfix.org/postconf.5.html), so a session is opened only for recipients no session
already open will take, and each one opened asks at least one recipient.
"""

from __future__ import annotations

import asyncio
import time

from tests.support.probing import point
from tests.support.smtpserver import ACCEPTED, Script
from validator.model import Reason, Status


async def eventually(condition, seconds: float = 2.0) -> bool:
    """Whether ``condition()`` holds within ``seconds`` (the server counts in its own thread)."""
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    return bool(condition())


async def test_recipients_queued_behind_a_busy_session_wait_for_it_rather_than_open_another(make, dns, smtp):
    probing = make(smtp_result_ttl=0)
    # a greeting slower than a transaction (Postfix postscreen's greet wait, a busy host)
    boxes = {f"u{i}@busy.com": ACCEPTED for i in range(3)}
    server = smtp.start(Script(mailboxes=boxes, greeting_delay=0.4, rcpt_delay=0.1))
    point(dns, "busy.com", server)
    first = asyncio.ensure_future(probing.check("u0@busy.com", timeout_ms=5000))
    assert await eventually(lambda: server.rcpts)  # the one session is in its transaction
    later = await asyncio.gather(*(probing.check(f"u{i}@busy.com", timeout_ms=5000) for i in (1, 2)))
    assert [v.status for v in [await first, *later]] == [Status.DELIVERABLE] * 3
    await asyncio.sleep(0.5)  # time enough for a second connection to have greeted
    assert server.connections == 1  # the busy session took both as soon as its transaction ended
    await probing.close()
    assert await eventually(lambda: server.quits == 1)


async def test_no_session_is_opened_and_closed_without_a_recipient(make, dns, smtp):
    probing = make(smtp_result_ttl=0, smtp_domain_rate=1000)
    boxes = {f"u{i}@staggered.com": ACCEPTED for i in range(0, 60, 2)}
    server = smtp.start(Script(mailboxes=boxes, greeting_delay=0.05, rcpt_delay=0.01))
    point(dns, "staggered.com", server)

    async def one(i: int):
        await asyncio.sleep(i * 0.004)  # requests arriving one after another, overlapping
        return await probing.check(f"u{i}@staggered.com", timeout_ms=10_000)

    verdicts = await asyncio.gather(*(one(i) for i in range(60)))
    assert [v.status is Status.DELIVERABLE for v in verdicts] == [i % 2 == 0 for i in range(60)], [
        (i, v.status, v.smtp) for i, v in enumerate(verdicts) if (v.status is Status.DELIVERABLE) != (i % 2 == 0)
    ]
    await probing.close()
    assert await eventually(lambda: server.active == 0)
    assert len(server.session_rcpts) == server.connections  # every session asked at least one recipient
    assert server.peak <= 3


async def test_pipelining_sends_groups_of_recipients_without_waiting_for_each_reply(make, dns, smtp):
    boxes = {f"u{i}@{d}": ACCEPTED for i in range(0, 40, 4) for d in ("piped.com", "unpiped.com")}
    for domain, pipelining in (("unpiped.com", False), ("piped.com", True)):
        probing = make(smtp_domain_rate=1000)
        server = smtp.start(Script(mailboxes=boxes, pipelining=pipelining))
        point(dns, domain, server)
        verdicts = await probing.checker.check_many([f"u{i}@{domain}" for i in range(40)], smtp=True, timeout_ms=10_000)
        assert [v.status is Status.DELIVERABLE for v in verdicts] == [i % 4 == 0 for i in range(40)]
        assert (server.delayed, server.hangups, server.data_commands) == (0, 0, 0)
        assert max(server.session_rcpts.values()) <= 8 + 10  # never more refusals than the cap of 8 a session
        if pipelining:  # the host's first recipient alone, then groups of up to 8 (the refusals a session may take)
            assert server.rcpts_per_read[0] == 1 and 1 < max(server.rcpts_per_read) <= 8, server.rcpts_per_read
            assert len(server.rcpts_per_read) <= len(server.rcpts) / 3
        else:  # one round trip each: never a second command before the reply to the first
            assert set(server.rcpts_per_read) == {1}


async def test_a_host_that_refuses_the_prober_at_rcpt_sees_one_recipient_not_a_pipelined_group(make, dns, smtp):
    probing = make(smtp_domain_rate=1000)
    # Postfix with reject_rbl_client under smtpd_recipient_restrictions refuses every RCPT TO
    server = smtp.start(Script(pipelining=True, block_after=0))
    point(dns, "rbl.com", server)
    verdicts = await probing.checker.check_many([f"u{i}@rbl.com" for i in range(20)], smtp=True)
    assert {v.reasons for v in verdicts} == {(Reason.PROBE_BLOCKED,)}
    assert len(server.rcpts) == 1  # the host's first recipient goes alone; the rest are answered unasked


async def test_a_host_that_blocks_mid_group_is_left_alone_after_the_group_in_flight(make, dns, smtp):
    probing = make(smtp_domain_rate=1000, smtp_max_connections_per_host=1)
    server = smtp.start(Script(pipelining=True, block_after=3))  # fail2ban after three "User unknown"
    point(dns, "fail2ban-piped.com", server)
    verdicts = await probing.checker.check_many([f"u{i}@fail2ban-piped.com" for i in range(20)], smtp=True)
    assert [v.reasons for v in verdicts[:3]] == [(Reason.MAILBOX_NOT_FOUND,)] * 3
    assert all(v.reasons == (Reason.PROBE_BLOCKED,) for v in verdicts[3:]), [v.smtp for v in verdicts[3:]]
    assert len(server.rcpts) <= 8  # one alone, then one group of at most 7 (the refusals left of 8): no more
    assert sum("not asked" in v.smtp.detail for v in verdicts if v.smtp.detail) >= 12
    assert await eventually(lambda: server.quits == 1)
