"""The prober against mail servers that defend themselves from address harvesting.

Scripted aiosmtpd servers (tests/support/smtpserver.py) behave like Postfix with its default limits
(https://www.postfix.org/postconf.5.html: smtpd_soft_error_limit = 10, smtpd_error_sleep_time = 1s,
smtpd_hard_error_limit = 20), like a tarpit from the first reply, and like a host that blocks a
client after K recipients. Each test checks the verdicts and what the server saw.
"""

from __future__ import annotations

import asyncio
import subprocess
import time

import pytest

from tests.support.probing import point
from tests.support.smtpserver import ACCEPTED, BLOCKED, GREYLISTED, Script, postfix_defaults
from validator.model import ProbeOutcome, Reason, Status


async def eventually(condition, seconds: float = 2.0) -> bool:
    """Whether ``condition()`` holds within ``seconds`` (the server counts in its own thread)."""
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    return bool(condition())


def unknown_addresses(domain: str, count: int) -> list[str]:
    return [f"nobody{i}@{domain}" for i in range(count)]


async def test_sequential_unknown_mailboxes_never_reach_postfixs_error_limits(make, dns, smtp):
    probing = make(smtp_domain_rate=1000)
    server = smtp.start(postfix_defaults())
    point(dns, "harvest.com", server)
    for email in unknown_addresses("harvest.com", 40):  # four times Postfix's soft limit, one request at a time
        verdict = await probing.check(email, timeout_ms=1500)
        assert verdict.reasons == (Reason.MAILBOX_NOT_FOUND,), verdict.smtp
    assert (server.delayed, server.hangups) == (0, 0)  # never slowed down, never dropped
    assert max(server.session_rcpts.values()) <= 8  # each session ended at its refusal cap
    assert server.connections >= 5 and server.quits >= server.connections - 1  # each ended with QUIT (one may idle)


async def test_a_mixed_batch_at_a_postfix_host_answers_every_address(make, dns, smtp):
    probing = make(smtp_domain_rate=1000)
    boxes = {f"u{i}@mixed-batch.com": ACCEPTED for i in range(0, 200, 3)}
    boxes.update({f"u{i}@mixed-batch.com": "452 4.2.2 Mailbox full" for i in range(1, 200, 30)})
    server = smtp.start(postfix_defaults(mailboxes=boxes))
    point(dns, "mixed-batch.com", server)
    emails = [f"u{i}@mixed-batch.com" for i in range(200)]
    verdicts = await probing.checker.check_many(emails, smtp=True, timeout_ms=1500)
    outcomes = [v.smtp.outcome for v in verdicts]
    assert ProbeOutcome.SMTP_TIMEOUT not in outcomes
    expected = [
        ProbeOutcome.ACCEPTED
        if i % 3 == 0
        else ProbeOutcome.MAILBOX_FULL
        if i % 30 == 1
        else ProbeOutcome.MAILBOX_NOT_FOUND
        for i in range(200)
    ]
    assert outcomes == expected
    assert (server.delayed, server.hangups) == (0, 0)
    assert server.peak <= 3


async def test_a_host_that_slows_down_earlier_than_postfix_teaches_a_lower_refusal_cap(make, dns, smtp):
    probing = make(smtp_domain_rate=1000, smtp_max_connections_per_host=1)
    # slows every reply after 3 errors: sessions that ended at 8 refusals would be tarpitted
    server = smtp.start(Script(soft_error_limit=3, error_sleep=1.0))
    point(dns, "strict.com", server)
    began = time.monotonic()
    verdicts = [await probing.check(email, timeout_ms=1500) for email in unknown_addresses("strict.com", 20)]
    assert all(v.reasons == (Reason.MAILBOX_NOT_FOUND,) for v in verdicts), [v.smtp for v in verdicts]
    stats = probing.prober.pool_stats
    # the first slowed session was retired, its recipient asked on a fresh one (a loaded machine may
    # stall a reply or two more past the 0.25 s floor)
    assert 1 <= stats.tarpits <= 3
    assert server.delayed <= 3  # then sessions stopped short of the host's limit, not one delay per request
    assert time.monotonic() - began < 8  # one stalled reply, not one per request


async def test_a_learnt_refusal_cap_relaxes_back_to_the_configured_one_after_quiet_periods(make, dns, smtp):
    probing = make(smtp_domain_rate=1000, smtp_max_connections_per_host=1, smtp_limit_recovery=0.5)
    server = smtp.start(Script(soft_error_limit=3, error_sleep=1.0))  # slows every reply after 3 errors
    point(dns, "recovering.com", server)
    for email in unknown_addresses("recovering.com", 8):
        assert (await probing.check(email, timeout_ms=3000)).reasons == (Reason.MAILBOX_NOT_FOUND,)
    assert probing.prober.pool_stats.tarpits >= 1  # the lesson: a cap below 3 refusals
    server.script.soft_error_limit = None  # the host stops defending itself (a load spike is over)
    largest = []
    for phase in range(3):
        dns.zone.mx(f"p{phase}.recovering.com", 10, "mx1.recovering.com")  # the same host, addresses not cached
        await asyncio.sleep(0.6)  # a quiet period: the learnt cap steps halfway back toward 8
        server.reset()
        for email in unknown_addresses(f"p{phase}.recovering.com", 16):
            assert (await probing.check(email, timeout_ms=3000)).reasons == (Reason.MAILBOX_NOT_FOUND,)
        assert server.delayed == 0
        largest.append(max(server.session_rcpts.values()))
    assert largest[0] < largest[1] < largest[2] == 8, largest  # e.g. 2 -> 5 -> 7 -> 8, the configured cap


async def test_421_too_many_errors_is_learnt_and_never_an_answer(make, dns, smtp):
    probing = make(smtp_domain_rate=1000, smtp_max_connections_per_host=1)
    server = smtp.start(Script(hard_error_limit=4))  # drops the session at the fifth command after 4 errors
    point(dns, "dropping.com", server)
    verdicts = await probing.checker.check_many(unknown_addresses("dropping.com", 30), smtp=True, timeout_ms=5000)
    assert all(v.reasons == (Reason.MAILBOX_NOT_FOUND,) for v in verdicts), [v.smtp for v in verdicts]
    assert server.hangups <= 1  # learnt from the first one


async def test_a_greeting_held_on_purpose_does_not_hide_a_throttle_that_follows(make, dns, smtp):
    # A greeting held a second (Postfix's postscreen greet wait, Sendmail's greet_pause), then every reply slowed after
    # three errors in the session. The greeting says nothing of how fast commands come back: the slowed replies are a
    # tarpit
    probing = make(smtp_domain_rate=1000, smtp_max_connections_per_host=1, smtp_connect_timeout=5.0)
    server = smtp.start(Script(greeting_delay=1.0, soft_error_limit=3, error_sleep=1.0, pipelining=True))
    point(dns, "throttling.com", server)
    began = time.monotonic()
    verdicts = await probing.checker.check_many(unknown_addresses("throttling.com", 12), smtp=True, timeout_ms=20_000)
    assert all(v.reasons == (Reason.MAILBOX_NOT_FOUND,) for v in verdicts), [v.smtp for v in verdicts]
    # the first slowed reply retired its session and taught a cap per transaction (Sendmail counts so); the next
    # session's second transaction was slowed too, which taught that this host counts per session; then no more
    assert probing.prober.pool_stats.tarpits == 2
    # five sessions of two or three refusals cost their greetings; waiting out the throttle would add a second a refusal
    assert time.monotonic() - began < 8.5


async def test_a_throttle_that_holds_a_pipelined_groups_replies_is_learnt_not_waited_for(make, dns, smtp):
    # Debian's Sendmail 8.17 as test_probe_real_mtas.py runs it: greet_pause holds each greeting a second;
    # BadRcptThrottle sleeps a second before every RCPT TO past the third refusal since MAIL FROM, and Sendmail writes
    # no reply while commands wait unread, so the replies to a pipelined group all come after its last throttled
    # second. Waiting for them once looked like a host slow from its first recipient, and every later reply was
    # waited for (20 s here)
    probing = make(smtp_domain_rate=1000, smtp_connect_timeout=5.0, smtp_command_timeout=10.0)
    boxes = {f"u{i}@held.com": ACCEPTED for i in range(0, 24, 4)}  # a quarter exist
    server = smtp.start(
        Script(mailboxes=boxes, greeting_delay=1.0, rcpt_throttle=3, hold_replies=True, pipelining=True)
    )
    point(dns, "held.com", server)
    emails = [f"u{i}@held.com" for i in range(24)]
    began = time.monotonic()
    verdicts = await probing.checker.check_many(emails, smtp=True, timeout_ms=30_000)
    elapsed = time.monotonic() - began
    wanted = [ProbeOutcome.ACCEPTED if e in boxes else ProbeOutcome.MAILBOX_NOT_FOUND for e in emails]
    assert [v.smtp.outcome for v in verdicts] == wanted
    # one held group retired its session (which one slowed it was unknown), one recipient at a time found where, and
    # from then on transactions end short of it: a few greetings, not a second for every refusal past the third
    assert probing.prober.pool_stats.tarpits <= 3
    assert elapsed < 7.0, elapsed


async def test_a_tarpit_from_the_first_reply_is_a_timeout_within_the_deadline_and_spends_no_budget(make, dns, smtp):
    probing = make(smtp_domain_rate=1)
    server = smtp.start(Script(reply_delay=2.0))  # even the greeting comes after two seconds
    point(dns, "tarpit.com", server)
    for email in ("jane@tarpit.com", "john@tarpit.com", "joan@tarpit.com"):
        began = time.monotonic()
        verdict = await probing.check(email, timeout_ms=300)
        assert time.monotonic() - began < 1.2  # 0.3 s and slack for a loaded machine, never the 2 s
        assert verdict.reasons == (Reason.SMTP_TIMEOUT,)  # never probe_throttled: nothing was sent
    assert server.rcpts == []


async def test_a_host_that_blocks_after_k_probes_is_left_alone_at_once(make, dns, smtp):
    probing = make(smtp_domain_rate=1000, smtp_max_connections_per_host=1)
    server = smtp.start(Script(block_after=3))
    point(dns, "fail2ban.com", server)
    verdicts = await probing.checker.check_many(unknown_addresses("fail2ban.com", 20), smtp=True)
    assert [v.reasons for v in verdicts[:3]] == [(Reason.MAILBOX_NOT_FOUND,)] * 3
    assert all(v.reasons == (Reason.PROBE_BLOCKED,) for v in verdicts[3:]), [v.smtp for v in verdicts[3:]]
    assert len(server.rcpts) == 4  # three answers and the refusal; the other sixteen never sent
    assert "not asked" in verdicts[-1].smtp.detail
    later = await probing.check("late@fail2ban.com")
    assert (later.reasons, later.smtp.cached) == ((Reason.PROBE_BLOCKED,), True)
    assert len(server.rcpts) == 4 and server.connections == 1
    assert await eventually(lambda: server.quits == 1)  # the blocked session still said QUIT


async def test_a_554_greeting_gets_a_quit(probing_default, dns, smtp):
    server = smtp.start(Script(greeting=BLOCKED))
    point(dns, "rbl-greeting.com", server)
    verdict = await probing_default.check("jane@rbl-greeting.com")
    assert (verdict.reasons, verdict.smtp.code) == ((Reason.PROBE_BLOCKED,), 554)
    assert await eventually(lambda: server.quits == 1)  # RFC 5321 §3.1: the server waits for our QUIT


@pytest.mark.parametrize("reply", [GREYLISTED, BLOCKED], ids=["greylisted", "blocked"])
async def test_the_accept_all_address_is_sent_only_after_an_acceptance(probing_default, dns, smtp, reply):
    server = smtp.start(Script(mailboxes={"jane@careful.com": reply}))
    point(dns, "careful.com", server)
    await probing_default.check("jane@careful.com")
    assert server.rcpts == ["jane@careful.com"]  # no random address to double the host's count


async def test_an_acceptance_stands_when_only_the_accept_all_check_runs_out_of_time(probing_default, dns, smtp):
    server = smtp.start(Script(mailboxes={"jane@slow-check.com": ACCEPTED}, unknown_delay=3.0))
    point(dns, "slow-check.com", server)
    verdict = await probing_default.check("jane@slow-check.com", timeout_ms=600)
    assert (verdict.status, verdict.smtp.outcome, verdict.smtp.accept_all) == (
        Status.DELIVERABLE,
        ProbeOutcome.ACCEPTED,
        None,
    )  # what was asked was answered; accept-all unknown
    assert "accept-all" in verdict.smtp.detail


async def test_the_helo_name_defaults_to_the_mail_from_domain(make, dns, smtp):
    probing = make(smtp_helo_name="", smtp_mail_from="verify@probe-sender.com")
    server = smtp.start(Script(mailboxes={"jane@helo.com": ACCEPTED}))
    point(dns, "helo.com", server)
    assert (await probing.check("jane@helo.com")).status is Status.DELIVERABLE
    assert set(server.helo_names) == {"probe-sender.com"}


def test_probing_without_a_proper_helo_name_refuses_to_start(dns, tmp_path):
    from tests.support.processes import VALIDATOR, env_for

    env = env_for(dns, VALIDATOR_DATABASE_URL=f"sqlite:///{tmp_path}/v.sqlite3", VALIDATOR_SMTP_PROBE="true")
    for extra in ({}, {"VALIDATOR_SMTP_HELO_NAME": "localhost"}):
        run = subprocess.run(
            [*VALIDATOR, "serve", "--port", "0"], env={**env, **extra}, capture_output=True, text=True, timeout=30
        )
        assert run.returncode == 2, run.stderr
        assert "VALIDATOR_SMTP_HELO_NAME" in run.stderr


@pytest.fixture
def probing_default(make):
    return make()
