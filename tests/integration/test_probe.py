"""SMTP RCPT probing against real aiosmtpd servers on loopback, found through the real DNS fixture.

Every server is scripted (tests/support/smtpserver.py) and counts what reached it, so each test checks
both the verdict and what went over the wire: connections, RCPT TO commands, never DATA.
"""

from __future__ import annotations

import asyncio
import math
import sqlite3
import subprocess
import time

import orjson
import pytest

from tests.support.probing import Probing, point, probe_settings
from tests.support.smtpserver import ACCEPTED, GREYLISTED, Script
from validator.model import MxOutcome, ProbeOutcome, Reason, Status
from validator.syntax import parse_address


@pytest.fixture
def probing(make) -> Probing:
    return make()


# --- answers about the mailbox ----------------------------------------------------------------------


async def test_existing_mailbox_is_deliverable_and_nothing_but_rcpt_is_sent(probing, dns, smtp):
    server = smtp.start(Script(mailboxes={"jane.doe@ok-mail.com": ACCEPTED}))
    point(dns, "ok-mail.com", server)
    verdict = await probing.check("  Jane.Doe@OK-Mail.com ")  # trimmed and domain lower-cased before the wire
    assert (verdict.status, verdict.reasons) == (Status.DELIVERABLE, ())
    smtp_check = verdict.smtp
    assert (smtp_check.outcome, smtp_check.code, smtp_check.enhanced) == (ProbeOutcome.ACCEPTED, 250, "2.1.5")
    assert (smtp_check.host, smtp_check.accept_all, smtp_check.cached) == ("mx1.ok-mail.com", False, False)
    assert server.rcpts[0] == "Jane.Doe@ok-mail.com"  # only the normalized address went out
    assert len(server.rcpts) == 2  # then, once it was accepted, one random address for the accept-all check
    assert set(server.mail_froms) == {"verify@validator.example"}
    assert server.data_commands == 0


async def test_unknown_mailbox_is_undeliverable_with_the_server_reply(probing, dns, smtp):
    server = smtp.start(Script())
    point(dns, "ok-mail.com", server)
    verdict = await probing.check("walter.white@ok-mail.com")
    assert (verdict.status, verdict.reasons) == (Status.UNDELIVERABLE, (Reason.MAILBOX_NOT_FOUND,))
    assert (verdict.smtp.code, verdict.smtp.enhanced) == (550, "5.1.1")
    assert "User unknown" in verdict.smtp.text


@pytest.mark.parametrize(
    "reply, status, reason",
    [
        # Gmail, over quota: the mailbox exists
        ("452 4.2.2 The email account that you tried to reach is over quota", Status.RISKY, Reason.MAILBOX_FULL),
        # Gmail, a disabled account: it will bounce
        (
            "550 5.2.1 The email account that you tried to reach is disabled",
            Status.UNDELIVERABLE,
            Reason.MAILBOX_DISABLED,
        ),
        # Postfix with an RBL: the prober was refused, not the address
        (
            "554 5.7.1 Service unavailable; Client host [127.0.0.1] blocked using zen.spamhaus.org",
            Status.UNKNOWN,
            Reason.PROBE_BLOCKED,
        ),
        # Exim greylistd on the first attempt
        ("451 4.7.1 Greylisting in action, please come back later", Status.UNKNOWN, Reason.GREYLISTED),
        # a server going away mid-session
        ("421 4.3.2 Service shutting down", Status.UNKNOWN, Reason.SMTP_UNAVAILABLE),
    ],
    ids=["full", "disabled", "rbl_block", "greylisted", "421"],
)
async def test_replies_map_to_reasons(probing, dns, smtp, reply, status, reason):
    server = smtp.start(Script(mailboxes={"jane@ok-mail.com": reply}))
    point(dns, "ok-mail.com", server)
    verdict = await probing.check("jane@ok-mail.com")
    assert (verdict.status, verdict.reasons) == (status, (reason,))
    assert verdict.smtp.code == int(reply[:3])


async def test_rbl_block_at_mail_from_is_probe_blocked_never_undeliverable(probing, dns, smtp):
    # Spamhaus-style refusal of the sender before any recipient is named
    blocked = "550 5.7.1 Client host [127.0.0.1] blocked using zen.spamhaus.org; see https://check.spamhaus.org"
    server = smtp.start(Script(mail_reply=blocked))
    point(dns, "ok-mail.com", server)
    verdict = await probing.check("jane@ok-mail.com")
    assert (verdict.status, verdict.reasons) == (Status.UNKNOWN, (Reason.PROBE_BLOCKED,))
    assert verdict.smtp.code == 550 and server.rcpts == []


async def test_a_host_that_blocked_the_prober_is_left_alone_for_a_while(probing, dns, smtp):
    blocked = "554 5.7.1 Service unavailable; Client host [127.0.0.1] blocked using zen.spamhaus.org"
    server = smtp.start(Script(mail_reply=blocked))
    point(dns, "blocking.com", server)
    first = await probing.check("jane@blocking.com")
    second = await probing.check("john@blocking.com")
    assert first.reasons == second.reasons == (Reason.PROBE_BLOCKED,)
    assert (first.smtp.cached, second.smtp.cached, second.smtp.code) == (False, True, 554)
    assert server.connections == 1  # the second was answered from memory, not asked again


async def test_accept_all_domain_is_risky_and_remembered_per_domain(probing, dns, smtp):
    server = smtp.start(Script(accept_all=True))
    point(dns, "catch-all.com", server)
    first = await probing.check("jane@catch-all.com")
    second = await probing.check("john@catch-all.com")
    for verdict in (first, second):
        assert (verdict.status, verdict.reasons) == (Status.RISKY, (Reason.ACCEPT_ALL,))
        assert verdict.smtp.accept_all is True
    assert len(server.rcpts) == 3  # one random address for the domain, then one RCPT per address


async def test_greylisted_then_deliverable_on_a_later_request(probing, dns, smtp):
    server = smtp.start(Script(mailboxes={"jane@grey.com": ACCEPTED}, greylist=True))
    point(dns, "grey.com", server)
    first = await probing.check("jane@grey.com")
    assert (first.status, first.reasons) == (Status.UNKNOWN, (Reason.GREYLISTED,))
    second = await probing.check("jane@grey.com")  # greylisting is never cached
    assert (second.status, second.smtp.outcome, second.smtp.cached) == (
        Status.DELIVERABLE,
        ProbeOutcome.ACCEPTED,
        False,
    )


async def test_answers_are_cached_per_address(probing, dns, smtp):
    server = smtp.start(Script(mailboxes={"jane@ok-mail.com": ACCEPTED}))
    point(dns, "ok-mail.com", server)
    await probing.check("jane@ok-mail.com")
    sent = len(server.rcpts)
    again = await probing.check("jane@ok-mail.com")
    assert (again.status, again.smtp.cached, again.smtp.accept_all) == (Status.DELIVERABLE, True, False)
    assert len(server.rcpts) == sent


# --- trouble: timeouts, drops, limits ------------------------------------------------------------------


async def test_tarpit_never_holds_the_request_past_its_deadline(probing, dns, smtp):
    server = smtp.start(Script(mailboxes={"jane@slow-mail.com": ACCEPTED}, rcpt_delay=3.0))
    point(dns, "slow-mail.com", server)
    began = time.perf_counter()
    verdict = await probing.check("jane@slow-mail.com", timeout_ms=600)
    elapsed = time.perf_counter() - began
    assert elapsed < 1.5, elapsed  # the tarpit answers after 3 s; 0.6 s budget plus slack for a loaded CI machine
    assert (verdict.status, verdict.reasons, verdict.smtp.outcome) == (
        Status.UNKNOWN,
        (Reason.SMTP_TIMEOUT,),
        ProbeOutcome.SMTP_TIMEOUT,
    )
    # asked, then asked again on a fresh session when the first one stalled: the deadline ended it
    assert server.connections == 2 and server.rcpts == ["jane@slow-mail.com"] * 2


async def test_connection_dropped_mid_session_is_asked_again_not_misread(probing, dns, smtp):
    server = smtp.start(Script(mailboxes={"jane@drop.com": ACCEPTED}, drop_at_rcpt=1, drops=1))
    point(dns, "drop.com", server)
    jane, bob = await probing.checker.check_many(["jane@drop.com", "bob@drop.com"], smtp=True)
    assert (jane.status, bob.status) == (Status.DELIVERABLE, Status.UNDELIVERABLE)
    assert bob.reasons == (Reason.MAILBOX_NOT_FOUND,)
    assert server.dropped == 1 and server.connections >= 2


async def test_server_refusing_a_second_rcpt_gets_new_transactions_and_right_answers(probing, dns, smtp):
    boxes = {f"user{i}@one-rcpt.com": ACCEPTED for i in range(0, 6, 2)}  # even users exist
    server = smtp.start(Script(mailboxes=boxes, max_rcpts=1))
    point(dns, "one-rcpt.com", server)
    emails = [f"user{i}@one-rcpt.com" for i in range(6)]
    verdicts = await probing.checker.check_many(emails, smtp=True)
    assert [v.status for v in verdicts] == [Status.DELIVERABLE, Status.UNDELIVERABLE] * 3
    assert all(v.smtp.code in (250, 550) for v in verdicts)  # never the 452 "too many recipients"
    # new transactions, not a session per address; a loaded machine may slow a reply past the
    # tarpit threshold, and a session so retired is rightly replaced
    assert server.connections - probing.prober.pool_stats.tarpits <= 3


async def test_server_limiting_recipients_per_connection_gets_new_connections(probing, dns, smtp):
    boxes = {f"user{i}@two-per-session.com": ACCEPTED for i in range(0, 7, 2)}
    server = smtp.start(Script(mailboxes=boxes, max_session_rcpts=2))
    point(dns, "two-per-session.com", server)
    emails = [f"user{i}@two-per-session.com" for i in range(7)]
    verdicts = await probing.checker.check_many(emails, smtp=True)
    assert [v.status for v in verdicts] == [Status.DELIVERABLE, Status.UNDELIVERABLE] * 3 + [Status.DELIVERABLE]
    assert server.connections >= 4  # eight recipients, two per connection


async def test_a_server_limiting_connections_per_client_is_served_by_the_sessions_it_allows(make, dns, smtp):
    probing = make(smtp_max_connections_per_host=3, smtp_session_recipients=5)
    boxes = {f"u{i}@one-conn.com": ACCEPTED for i in range(0, 40, 2)}
    server = smtp.start(Script(mailboxes=boxes, max_connections=1, rcpt_delay=0.002))
    point(dns, "one-conn.com", server)
    verdicts = await probing.checker.check_many([f"u{i}@one-conn.com" for i in range(40)], smtp=True, timeout_ms=10_000)
    assert [v.status for v in verdicts] == [Status.DELIVERABLE, Status.UNDELIVERABLE] * 20  # none lost to the 421
    assert server.connections > probing.prober.pool_stats.connections  # a second session was refused, as scripted


async def test_connection_refused_moves_to_the_next_mx(probing, dns, smtp):
    server = smtp.start(Script(mailboxes={"jane@backup-mx.com": ACCEPTED}))
    point(dns, "backup-mx.com", smtp.free_ip(), server)  # preference 10 refuses connections
    verdict = await probing.check("jane@backup-mx.com")
    assert (verdict.status, verdict.smtp.host) == (Status.DELIVERABLE, "mx2.backup-mx.com")
    assert probing.prober.pool_stats.connect_attempts == 2


async def test_a_busy_greeting_moves_to_the_next_mx_and_a_blocking_one_does_not(probing, dns, smtp):
    busy = smtp.start(Script(greeting="421 4.3.2 mx1 too busy, try again later"))
    backup = smtp.start(Script(mailboxes={"jane@busy-mx.com": ACCEPTED}))
    point(dns, "busy-mx.com", busy, backup)
    verdict = await probing.check("jane@busy-mx.com")
    assert (verdict.status, verdict.smtp.host) == (Status.DELIVERABLE, "mx2.busy-mx.com")
    # Spamhaus-listed client refused at the greeting: the prober's problem, and the same at every MX
    blocking = smtp.start(Script(greeting="554 5.7.1 Client host [127.0.0.1] blocked using zen.spamhaus.org"))
    spare = smtp.start(Script(accept_all=True))
    point(dns, "rbl-mx.com", blocking, spare)
    verdict = await probing.check("jane@rbl-mx.com")
    assert (verdict.status, verdict.reasons, verdict.smtp.code) == (Status.UNKNOWN, (Reason.PROBE_BLOCKED,), 554)
    assert spare.connections == 0


async def test_no_server_at_all_is_unknown(probing, dns, smtp):
    point(dns, "dead-mx.com", smtp.free_ip())
    verdict = await probing.check("jane@dead-mx.com")
    assert (verdict.status, verdict.reasons) == (Status.UNKNOWN, (Reason.SMTP_UNAVAILABLE,))


async def test_helo_fallback_when_ehlo_is_refused(probing, dns, smtp):
    server = smtp.start(Script(mailboxes={"jane@old-mta.com": ACCEPTED}, ehlo_refused=True))
    point(dns, "old-mta.com", server)
    verdict = await probing.check("jane@old-mta.com")
    assert verdict.status is Status.DELIVERABLE


async def test_domain_rate_limit_holds_under_a_burst(make, dns, smtp):
    probing = make(smtp_domain_rate=3)
    server = smtp.start(Script(accept_all=False, mailboxes={f"u{i}@busy.com": ACCEPTED for i in range(8)}))
    point(dns, "busy.com", server)
    verdicts = await probing.checker.check_many([f"u{i}@busy.com" for i in range(8)], smtp=True, timeout_ms=1500)
    assert len(server.rcpts) <= 3  # the random address would count too
    throttled = [v for v in verdicts if v.reasons == (Reason.PROBE_THROTTLED,)]
    assert len(throttled) == 8 - len([r for r in server.rcpts if r.startswith("u")])
    assert all(v.status is Status.UNKNOWN for v in throttled)


# --- connection reuse and limits --------------------------------------------------------------------


async def test_sessions_are_reused_up_to_the_recipient_cap(make, dns, smtp):
    probing = make(smtp_session_recipients=4)
    server = smtp.start(Script(mailboxes={f"u{i}@reuse.com": ACCEPTED for i in range(12)}))
    point(dns, "reuse.com", server)
    for i in range(12):  # one at a time, as separate requests
        assert (await probing.check(f"u{i}@reuse.com")).status is Status.DELIVERABLE
    assert len(server.rcpts) == 13  # twelve addresses and one accept-all check
    assert server.connections <= math.ceil(13 / 4)


async def test_per_host_cap_is_never_exceeded_in_a_burst(make, dns, smtp):
    probing = make(smtp_max_connections_per_host=2, smtp_session_recipients=5)
    server = smtp.start(Script(mailboxes={f"u{i}@burst.com": ACCEPTED for i in range(0, 60, 3)}, rcpt_delay=0.002))
    point(dns, "burst.com", server)
    emails = [f"u{i}@burst.com" for i in range(60)]
    verdicts = await probing.checker.check_many(emails, smtp=True, timeout_ms=10_000)
    assert [v.status is Status.DELIVERABLE for v in verdicts] == [i % 3 == 0 for i in range(60)]
    assert server.peak <= 2
    assert probing.prober.pool_stats.peak_per_host["mx1.burst.com"] <= 2


async def test_global_cap_holds_across_hosts_and_idle_sessions_make_room(make, dns, smtp):
    probing = make(smtp_max_connections=2, smtp_max_connections_per_host=2)
    servers = [smtp.start(Script(accept_all=True)) for _ in range(3)]
    for i, server in enumerate(servers):
        point(dns, f"host{i}.com", server)
    emails = [f"u{n}@host{n % 3}.com" for n in range(30)]
    verdicts = await probing.checker.check_many(emails, smtp=True, timeout_ms=10_000)
    assert {v.reasons for v in verdicts} == {(Reason.ACCEPT_ALL,)}  # every host got its turn
    assert probing.prober.pool_stats.peak_total <= 2
    assert sum(server.connections for server in servers) >= 3


async def test_idle_sessions_are_closed_after_the_idle_timeout(make, dns, smtp):
    probing = make(smtp_idle_timeout=0.1)
    server = smtp.start(Script(accept_all=True))
    point(dns, "idle.com", server)
    await probing.check("jane@idle.com")
    assert server.active == 1  # kept for the next probe
    for _ in range(50):
        await asyncio.sleep(0.05)
        if server.active == 0:
            break
    assert server.active == 0


async def test_internationalized_local_part_uses_smtputf8(probing, dns, smtp):
    server = smtp.start(Script(mailboxes={"jürgen@utf8-mail.com": ACCEPTED}))
    point(dns, "utf8-mail.com", server)
    verdict = await probing.check("jürgen@utf8-mail.com")
    assert verdict.status is Status.DELIVERABLE
    assert "jürgen@utf8-mail.com" in server.rcpts


# --- STARTTLS ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server_tls(tmp_path_factory):
    """A self-signed certificate for mx1.tls-mail.com, made by the openssl command line."""
    import ssl

    where = tmp_path_factory.mktemp("smtp-probe-tls")
    key, cert = where / "key.pem", where / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=mx1.tls-mail.com",
            "-addext",
            "subjectAltName=DNS:mx1.tls-mail.com",
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.files = (cert, key)  # for tests that build a context of their own
    return context


async def test_starttls_is_used_when_offered(probing, dns, smtp, server_tls):
    server = smtp.start(Script(mailboxes={"jane@tls-mail.com": ACCEPTED}), tls=server_tls)
    point(dns, "tls-mail.com", server)
    verdict = await probing.check("jane@tls-mail.com")
    assert (verdict.status, verdict.smtp.tls) == (Status.DELIVERABLE, True)
    assert server.tls_rcpts == len(server.rcpts) == 2  # nothing asked in the clear


async def test_a_failed_handshake_falls_back_to_plain_text_when_tls_is_opportunistic(probing, dns, smtp, server_tls):
    import ssl

    demanding = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)  # wants a client certificate the prober has not got
    demanding.load_cert_chain(*server_tls.files)
    demanding.verify_mode = ssl.CERT_REQUIRED
    demanding.load_verify_locations(server_tls.files[0])
    server = smtp.start(Script(mailboxes={"jane@tls-mail.com": ACCEPTED}), tls=demanding)
    point(dns, "tls-mail.com", server)
    verdict = await probing.check("jane@tls-mail.com")
    assert (verdict.status, verdict.smtp.tls) == (Status.DELIVERABLE, False), verdict.smtp
    assert server.connections == 2  # the failed handshake, then the plain session


async def test_certificate_checking_refuses_a_self_signed_server(make, dns, smtp, server_tls):
    probing = make(smtp_tls_verify=True)
    server = smtp.start(Script(mailboxes={"jane@tls-mail.com": ACCEPTED}), tls=server_tls)
    point(dns, "tls-mail.com", server)
    verdict = await probing.check("jane@tls-mail.com")
    assert (verdict.status, verdict.reasons) == (Status.UNKNOWN, (Reason.SMTP_UNAVAILABLE,))
    assert "certificate" in verdict.smtp.detail.lower()
    assert server.rcpts == []  # no fallback to plain text once verification is asked for


# --- the network guard --------------------------------------------------------------------------------


async def test_loopback_mx_without_allowlist_is_never_connected(make, dns, smtp):
    probing = make(smtp_allow_networks=())
    server = smtp.start(Script(accept_all=True))
    point(dns, "ssrf.com", server)
    verdict = await probing.check("jane@ssrf.com")
    assert (verdict.status, verdict.reasons) == (Status.UNDELIVERABLE, (Reason.MX_UNROUTABLE,))  # DNS decides
    mx = await probing.resolver.lookup("ssrf.com")
    result = await probing.prober.probe(parse_address("jane@ssrf.com"), mx, 2.0)  # and the prober refuses anyway
    assert result.outcome is ProbeOutcome.NOT_ALLOWED and "loopback" in result.detail
    assert server.connections == 0
    assert probing.prober.pool_stats.connect_attempts == 0 and probing.prober.pool_stats.guard_refusals == 1


@pytest.mark.parametrize("ip", ["10.20.30.40", "192.168.7.7", "169.254.1.1", "100.64.0.9"])
async def test_private_mx_is_refused_before_any_connection_attempt(probing, dns, ip):
    point(dns, "internal.com", ip)
    mx = await probing.resolver.lookup("internal.com")
    assert mx.outcome is MxOutcome.MX and mx.unroutable  # outside the allowlist, so not routable either
    began = time.perf_counter()
    result = await probing.prober.probe(parse_address("jane@internal.com"), mx, 2.0)
    assert result.outcome is ProbeOutcome.NOT_ALLOWED and ip in result.detail
    assert probing.prober.pool_stats.connect_attempts == 0  # no socket was even tried
    assert time.perf_counter() - began < 1.0  # no connect timeout (2 s) was waited for


async def test_private_first_mx_is_skipped_for_an_allowed_one(probing, dns, smtp):
    server = smtp.start(Script(mailboxes={"jane@mixed.com": ACCEPTED}))
    point(dns, "mixed.com", "10.9.9.9", server)
    verdict = await probing.check("jane@mixed.com")
    assert (verdict.status, verdict.smtp.host) == (Status.DELIVERABLE, "mx2.mixed.com")
    assert probing.prober.pool_stats.guard_refusals >= 1


async def test_probe_is_off_unless_the_service_enables_it(make, dns, smtp):
    probing = make(smtp_probe=False)
    server = smtp.start(Script(accept_all=True))
    point(dns, "ok-mail.com", server)
    verdict = await probing.check("jane@ok-mail.com")
    assert verdict.smtp is None and verdict.status is Status.DELIVERABLE
    assert server.connections == 0


# --- through the HTTP API ----------------------------------------------------------------------------


@pytest.fixture
async def client(aiohttp_client, dns, smtp, tmp_path):
    from validator.api import create_app

    settings = probe_settings(dns, smtp, database_url=f"sqlite:///{tmp_path}/validator.sqlite3", auth=False)
    return await aiohttp_client(create_app(settings))


async def test_api_validate_with_smtp_returns_the_reply(client, dns, smtp):
    server = smtp.start(Script(mailboxes={"jane@api-mail.com": ACCEPTED}))
    point(dns, "api-mail.com", server)
    response = await client.post("/v1/validate", json={"email": "walter.white@api-mail.com", "smtp": True})
    body = await response.json()
    assert (response.status, body["status"], body["reasons"]) == (200, "undeliverable", ["mailbox_not_found"])
    check = body["checks"]["smtp"]
    assert (check["outcome"], check["code"], check["enhanced_code"], check["host"]) == (
        "mailbox_not_found",
        550,
        "5.1.1",
        "mx1.api-mail.com",
    )
    assert "User unknown" in check["text"] and check["cached"] is False and check["tls"] is False
    metrics = await (await client.get("/metrics")).text()
    assert 'validator_smtp_probes_total{outcome="mailbox_not_found"} 1' in metrics
    assert "validator_smtp_connections_total 1" in metrics
    assert "validator_smtp_tarpits_total 0" in metrics and "validator_smtp_unasked_total 0" in metrics


async def test_api_without_the_smtp_flag_never_connects(client, dns, smtp):
    server = smtp.start(Script(accept_all=True))
    point(dns, "api-mail.com", server)
    body = await (await client.post("/v1/validate", json={"email": "jane@api-mail.com"})).json()
    assert (body["status"], body["checks"]["smtp"]) == ("deliverable", None)
    assert server.connections == 0


async def test_api_batch_probes_share_sessions(client, dns, smtp):
    server = smtp.start(Script(mailboxes={f"u{i}@batch-mail.com": ACCEPTED for i in range(0, 20, 2)}))
    point(dns, "batch-mail.com", server)
    emails = [f"u{i}@batch-mail.com" for i in range(20)]
    body = await (await client.post("/v1/validate/batch", json={"emails": emails, "smtp": True})).json()
    assert [r["status"] for r in body["results"]] == ["deliverable", "undeliverable"] * 10
    assert server.connections <= 2  # 21 recipients in batched transactions, not 21 connections


def test_cli_check_with_smtp_flag_probes(dns, smtp, tmp_path):
    from tests.support.processes import VALIDATOR, env_for

    server = smtp.start(Script(mailboxes={"jane@cli-mail.com": ACCEPTED}))
    point(dns, "cli-mail.com", server)
    env = env_for(
        dns,
        VALIDATOR_DATABASE_URL=f"sqlite:///{tmp_path}/v.sqlite3",
        VALIDATOR_SMTP_PORT=str(smtp.port),
        VALIDATOR_SMTP_ALLOW_NETWORKS="127.0.0.0/8",
        VALIDATOR_SMTP_HELO_NAME="probe.validator.example",
    )
    command = [*VALIDATOR, "check", "jane@cli-mail.com", "walter.white@cli-mail.com"]
    plain = subprocess.run(command, env=env, capture_output=True, text=True, timeout=30)
    assert plain.returncode == 0 and server.connections == 0, plain.stderr  # no --smtp: DNS only
    probed = subprocess.run([*command, "--smtp"], env=env, capture_output=True, text=True, timeout=30)
    assert probed.returncode == 1, probed.stderr  # one address is undeliverable
    lines = probed.stdout.splitlines()
    assert lines[1].split()[:2] == ["jane@cli-mail.com", "deliverable"]
    assert lines[2].split()[:4] == ["walter.white@cli-mail.com", "undeliverable", "block", "mailbox_not_found"]
    assert server.connections == 1


@pytest.fixture
async def learning_client(aiohttp_client, dns, smtp, tmp_path):
    from validator.api import create_app

    settings = probe_settings(
        dns, smtp, database_url=f"sqlite:///{tmp_path}/validator.sqlite3", auth=False, probe_disagreement_threshold=2
    )
    return await aiohttp_client(create_app(settings))


async def test_hard_bounces_after_acceptances_turn_a_domains_acceptances_into_accept_all(learning_client, dns, smtp):
    # A gateway that says 250 to every plausible name and bounces later: random names are refused,
    # so the accept-all test passes; only real bounces show its acceptances prove nothing.
    server = smtp.start(Script(mailboxes={f"{n}@gateway-mail.com": ACCEPTED for n in ("ann", "bob", "cy", "dee")}))
    point(dns, "gateway-mail.com", server)
    for name in ("ann", "bob", "cy"):
        body = await (
            await learning_client.post("/v1/validate", json={"email": f"{name}@gateway-mail.com", "smtp": True})
        ).json()
        assert (body["status"], body["checks"]["smtp"]["accept_all"]) == ("deliverable", False)
    await asyncio.sleep(0.2)  # acceptances are written in the background
    for name in ("ann", "bob"):  # real sends to two accepted addresses hard-bounce
        bounce = {
            "event": "bounce",
            "email": f"{name}@gateway-mail.com",
            "smtp_code": 550,
            "smtp_enhanced_code": "5.1.1",
            "smtp_message": "user unknown",
            "timestamp": "2026-03-15T08:42:11Z",
        }
        [result] = (await (await learning_client.post("/v1/events", json=bounce)).json())["results"]
        assert result["action"] == "suppressed"
    body = await (
        await learning_client.post("/v1/validate", json={"email": "dee@gateway-mail.com", "smtp": True})
    ).json()
    assert (body["status"], body["reasons"]) == ("risky", ["accept_all"])
    assert body["checks"]["smtp"]["accept_all"] is True and "hard bounces" in body["checks"]["smtp"]["detail"]


async def test_a_job_with_smtp_probes_and_asks_greylisted_rows_again(aiohttp_client, dns, smtp, tmp_path):
    from validator.api import create_app

    # Postgrey-like: every address's first RCPT is deferred, the retry gets the real answer
    server = smtp.start(Script(mailboxes={"jane@grey-job.com": ACCEPTED}, greylist=True))
    point(dns, "grey-job.com", server)
    settings = probe_settings(
        dns,
        smtp,
        database_url=f"sqlite:///{tmp_path}/v.sqlite3",
        auth=False,
        job_poll_seconds=0.05,
        job_greylist_delay=1.2,
        job_greylist_retries=1,
        # the chunk's work outlasts its lease: renewed, the second worker never takes it
        job_lease_seconds=1.0,
        job_workers=2,
    )
    client = await aiohttp_client(create_app(settings))
    response = await client.post("/v1/jobs?smtp=true", json={"emails": ["jane@grey-job.com", "joe@grey-job.com"]})
    assert response.status == 202, await response.text()
    location = response.headers["Location"]
    for _ in range(100):
        job = await (await client.get(location)).json()
        if job["status"] == "completed":
            break
        await asyncio.sleep(0.05)
    rows = [orjson.loads(line) for line in (await (await client.get(f"{location}/results")).read()).splitlines()]
    assert [(r["email"], r["status"]) for r in rows] == [
        ("jane@grey-job.com", "deliverable"),
        ("joe@grey-job.com", "undeliverable"),
    ]
    assert rows[1]["reasons"] == ["mailbox_not_found"] and rows[0]["checks"]["smtp"]["code"] == 250
    assert server.rcpts.count("jane@grey-job.com") == 2  # deferred once, asked again within the job
    assert job["counts"]["statuses"] == {"deliverable": 1, "undeliverable": 1}
    with sqlite3.connect(tmp_path / "v.sqlite3") as db:  # one claim: the renewed lease kept the chunk
        assert db.execute("SELECT attempts FROM job_chunks").fetchall() == [(1,)]


async def test_a_job_reports_greylisted_when_still_deferred_after_its_retries(aiohttp_client, dns, smtp, tmp_path):
    from validator.api import create_app

    server = smtp.start(Script(mailboxes={"jane@grey-job.com": GREYLISTED}))  # deferred every time
    point(dns, "grey-job.com", server)
    settings = probe_settings(
        dns,
        smtp,
        database_url=f"sqlite:///{tmp_path}/v.sqlite3",
        auth=False,
        job_poll_seconds=0.05,
        job_greylist_delay=0.05,
        job_greylist_retries=2,
    )
    client = await aiohttp_client(create_app(settings))
    location = (await client.post("/v1/jobs?smtp=true", json={"emails": ["jane@grey-job.com"]})).headers["Location"]
    for _ in range(100):
        if (await (await client.get(location)).json())["status"] == "completed":
            break
        await asyncio.sleep(0.05)
    [row] = [orjson.loads(line) for line in (await (await client.get(f"{location}/results")).read()).splitlines()]
    assert (row["status"], row["reasons"]) == ("unknown", ["greylisted"])
    assert server.rcpts.count("jane@grey-job.com") == 3  # the first ask and two retries
