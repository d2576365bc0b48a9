"""``Checker.check(x)`` and ``Checker.check_many([x])[0]`` give the same verdict, whatever ``x`` is.

The two paths are written apart (one address against a batch with shared lookups), and every
endpoint uses one or the other: ``/v1/validate`` the first, batches and jobs the second. A
property test holds them equal over a world with every kind of answer: a real DNS server on
loopback (MX, null MX, implicit MX, NXDOMAIN, SERVFAIL, a private MX, an IDN), a real SQLite
store with an address suppression, a domain suppression and a soft-bounce streak, and
addresses that fail syntax or carry risk signals; then again with SMTP probing against scripted
servers on loopback (accepted, full, disabled, unknown, accept-all, blocked).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.support.settings import make_settings
from tests.support.smtpserver import ACCEPTED, BLOCKED, Script
from validator.bounces.facts import BounceFact, BounceReason, EventKind
from validator.bounces.ingest import Ingestor
from validator.bounces.policy import LearningPolicy
from validator.checker import Checker
from validator.model import Reason, Status, SuppressionEntry, SuppressionKind, SuppressionReason, Verdict
from validator.mx import MxResolver
from validator.netguard import parse_networks
from validator.probe.prober import Prober
from validator.store import open_store

DOMAINS = [
    "shop-mx.com",  # MX to a routable host
    "null-mx.com",  # RFC 7505 null MX: no mail
    "implicit-mx.com",  # no MX, an A record: RFC 5321 §5.1 implicit MX
    "nowhere-here.com",  # NXDOMAIN
    "servfail-mx.com",  # SERVFAIL: unknown, never undeliverable
    "private-mx.com",  # MX host on 10/8 only: unroutable
    "gmail.com",  # a free provider
    "gmial.com",  # a typo of one (NXDOMAIN here)
    "mailinator.com",  # on the disposable list
    "blocked-domain.com",  # suppressed as a whole domain
    "bücher.de",  # IDN: looked up as xn--bcher-kva.de
]
LOCALS = ["jane", "Jane.Doe", "a+tag", "info", "postmaster", "gone", "full", '"quoted local"', "ä"]
GONE = "gone@shop-mx.com"  # suppressed address
FULL = "full@gmail.com"  # one soft bounce on record


def comparable(verdict: Verdict) -> Verdict:
    """The verdict without what depends on the clock: time spent, and a cached answer's remaining TTL."""
    mx = dataclasses.replace(verdict.mx, ttl=0.0) if verdict.mx is not None else None
    probe = dataclasses.replace(verdict.smtp, elapsed_ms=0.0) if verdict.smtp is not None else None
    return dataclasses.replace(verdict, elapsed_ms=0.0, mx=mx, smtp=probe)


@pytest.fixture
async def checkers(dns, tmp_path) -> AsyncIterator[tuple[Checker, Checker]]:
    """Two checkers on one store, each with its own resolver: both caches see the same lookups in the
    same order, so each example meets them in the same state."""
    zone = dns.zone
    zone.mx("shop-mx.com", 10, "mx.shop-mx.com")
    zone.a("mx.shop-mx.com", "8.8.8.8")
    zone.add("null-mx.com", "MX", "0 .")
    zone.a("implicit-mx.com", "8.8.4.4")
    zone.servfail("servfail-mx.com")
    zone.mx("private-mx.com", 10, "mx.private-mx.com")
    zone.a("mx.private-mx.com", "10.0.0.1")
    for domain in ("gmail.com", "mailinator.com", "blocked-domain.com", "xn--bcher-kva.de"):
        zone.mx(domain, 5, f"mx.{domain}")
        zone.a(f"mx.{domain}", "1.1.1.1")
    store = await open_store(f"sqlite:///{tmp_path}/v.sqlite3")
    entries = [
        SuppressionEntry(SuppressionKind.ADDRESS, GONE, SuppressionReason.HARD_BOUNCE, "test"),
        SuppressionEntry(SuppressionKind.DOMAIN, "blocked-domain.com", SuppressionReason.MANUAL, "test"),
    ]
    for entry in entries:
        await store.put_suppression(entry, actor="test")
    # Gmail: "452-4.2.2 The email account that you tried to reach is over quota"
    over_quota = BounceFact(
        FULL, EventKind.BOUNCE, reason=BounceReason.MAILBOXFULL, reply_code=452, status="4.2.2",
        diagnostic="452-4.2.2 over quota", message_id="m-1", timestamp=datetime(2026, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    await Ingestor(store, LearningPolicy()).ingest([over_quota], source="test", actor="test")
    await key_filters_ready(store)  # so that check() takes its path without awaiting the store
    settings_ = make_settings(dns)
    resolvers = MxResolver(settings_), MxResolver(settings_)
    yield Checker(settings_, resolvers[0], store), Checker(settings_, resolvers[1], store)
    for resolver in resolvers:
        await resolver.close()
    await store.close()


async def key_filters_ready(store) -> None:
    """Wait until the store's key filters answer (they are built in the background after it opens)."""
    for _ in range(600):
        store._stale = True  # the next lookup renews the snapshot, which pulls the filters
        await store.ping()
        if store.key_filters_building == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the key filters never took over")


addresses = st.one_of(
    st.builds("{}@{}".format, st.sampled_from(LOCALS), st.sampled_from(DOMAINS)),
    st.builds("{}@{}".format, st.text(max_size=12), st.sampled_from(DOMAINS)),  # local parts of any syntax
    st.text(max_size=40),  # anything at all: syntax errors, repairs ("jane@gmail,com")
)


@settings(
    max_examples=150,
    deadline=None,
    # the world the fixture builds is read, never changed, by every example: sharing it is the point
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@example(GONE)  # the suppressed address: no DNS at all
@example(FULL)  # the soft streak
@example("anyone@blocked-domain.com")  # the suppressed domain
@example("jane@gmail,com")  # invalid, with a repair suggestion
@example("JANE@BÜCHER.DE")  # IDN, case folded
@given(email=addresses)
async def test_checking_one_address_equals_a_batch_of_one(checkers, email: str) -> None:
    alone, batch = checkers
    one = await alone.check(email)
    [many] = await batch.check_many([email])
    assert comparable(one) == comparable(many)


WORLD = {  # what each corner of the world answers, so the property above cannot pass on a broken one
    GONE: (Status.UNDELIVERABLE, Reason.SUPPRESSED),
    "anyone@blocked-domain.com": (Status.UNDELIVERABLE, Reason.SUPPRESSED),
    FULL: (Status.RISKY, Reason.RECENT_SOFT_BOUNCES),
    "jane@gmail,com": (Status.UNDELIVERABLE, Reason.INVALID_SYNTAX),
    "jane@null-mx.com": (Status.UNDELIVERABLE, Reason.NULL_MX),
    "jane@nowhere-here.com": (Status.UNDELIVERABLE, Reason.NO_SUCH_DOMAIN),
    "jane@servfail-mx.com": (Status.UNKNOWN, Reason.DNS_ERROR),
    "jane@private-mx.com": (Status.UNDELIVERABLE, Reason.MX_UNROUTABLE),
    "info@mailinator.com": (Status.RISKY, Reason.DISPOSABLE),
    "jane@shop-mx.com": (Status.DELIVERABLE, None),
    "jane@implicit-mx.com": (Status.DELIVERABLE, None),
    "JANE@BÜCHER.DE": (Status.DELIVERABLE, None),
}


async def test_one_check_skips_the_store_only_where_the_key_filters_rule_it_out(checkers) -> None:
    # check() asks the store only when rules_out_validation_facts cannot rule its keys out;
    # check_many() always asks: the property above holds the two paths equal.
    store = checkers[0]._store
    assert store is not None and store.rules_out_validation_facts("jane@shop-mx.com", "shop-mx.com")
    for address, domain in [(GONE, "shop-mx.com"), (FULL, "gmail.com"), ("x@blocked-domain.com", "blocked-domain.com")]:
        assert not store.rules_out_validation_facts(address, domain)


async def test_the_world_holds_every_kind_of_answer(checkers) -> None:
    verdicts = await checkers[1].check_many(list(WORLD))
    got = {v.email: (v.status, v.reasons[0] if v.reasons else None) for v in verdicts}
    assert got == WORLD


# --- with SMTP probing: scripted servers that answer the same whoever asks (no greylisting, no counting)

PROBED_DOMAINS = ["probe-ok.com", "catch-all.com", "probe-blocked.com", "null-mx.com", "nowhere-here.com"]
PROBED_LOCALS = ["jane", "full", "off", "walter", "postmaster"]
MAILBOXES = {
    "jane@probe-ok.com": ACCEPTED,
    "full@probe-ok.com": "452 4.2.2 The email account that you tried to reach is over quota",  # Gmail
    "off@probe-ok.com": "550 5.2.1 The email account that you tried to reach is disabled",  # Gmail
}


@pytest.fixture
async def probing_checkers(dns, smtp) -> AsyncIterator[tuple[Checker, Checker]]:
    """Two probing checkers, each with its own resolver and prober (so its own caches), no store."""
    servers = {
        "probe-ok.com": smtp.start(Script(mailboxes=MAILBOXES)),
        "catch-all.com": smtp.start(Script(accept_all=True)),
        "probe-blocked.com": smtp.start(Script(mail_reply=BLOCKED)),
    }
    for domain, server in servers.items():
        dns.zone.mx(domain, 10, f"mx.{domain}")
        dns.zone.a(f"mx.{domain}", server.ip)
    dns.zone.add("null-mx.com", "MX", "0 .")
    settings_ = make_settings(
        dns,
        smtp_probe=True,
        smtp_port=smtp.port,
        smtp_helo_name="probe.validator.example",
        smtp_mail_from="verify@validator.example",
        smtp_allow_networks=parse_networks("127.0.0.0/8"),
        smtp_domain_rate=1000,  # no example may be throttled by the ones before it
        default_timeout_ms=5000,
    )
    parts = [(MxResolver(settings_), Prober(settings_)) for _ in range(2)]
    yield tuple(Checker(settings_, resolver, prober=prober) for resolver, prober in parts)  # type: ignore[misc]
    for resolver, prober in parts:
        await prober.close()
        await resolver.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@example("jane@probe-ok.com")  # accepted, then the accept-all check
@example("full@probe-ok.com")  # risky: the mailbox exists
@example("off@probe-ok.com")  # undeliverable: disabled
@example("walter@probe-ok.com")  # undeliverable: unknown
@example("anyone@catch-all.com")  # risky: accept-all
@example("jane@probe-blocked.com")  # unknown: the probe was blocked
@given(
    email=st.builds(
        "{}@{}".format, st.sampled_from(PROBED_LOCALS) | st.text(max_size=8), st.sampled_from(PROBED_DOMAINS)
    )
)
async def test_probing_one_address_equals_a_batch_of_one(probing_checkers, email: str) -> None:
    alone, batch = probing_checkers
    one = await alone.check(email, smtp=True)
    [many] = await batch.check_many([email], smtp=True)
    assert comparable(one) == comparable(many)


PROBED_WORLD = {  # as WORLD above: the probing property must meet every kind of probe outcome
    "jane@probe-ok.com": (Status.DELIVERABLE, None),
    "full@probe-ok.com": (Status.RISKY, Reason.MAILBOX_FULL),
    "off@probe-ok.com": (Status.UNDELIVERABLE, Reason.MAILBOX_DISABLED),
    "walter@probe-ok.com": (Status.UNDELIVERABLE, Reason.MAILBOX_NOT_FOUND),
    "anyone@catch-all.com": (Status.RISKY, Reason.ACCEPT_ALL),
    "jane@probe-blocked.com": (Status.UNKNOWN, Reason.PROBE_BLOCKED),
}


async def test_the_probed_world_holds_every_kind_of_probe_outcome(probing_checkers) -> None:
    verdicts = await probing_checkers[1].check_many(list(PROBED_WORLD), smtp=True)
    assert {v.email: (v.status, v.reasons[0] if v.reasons else None) for v in verdicts} == PROBED_WORLD


async def test_a_page_is_answered_by_the_entries_that_predict_a_bounce_only(checkers) -> None:
    # the fixture's store: GONE is a hard bounce, blocked-domain.com an operator's (manual) entry
    checker, _ = checkers
    assert "suppressed" in (await checker.check(GONE, for_page=True)).reasons
    sender = await checker.check("anyone@blocked-domain.com")
    page = await checker.check("anyone@blocked-domain.com", for_page=True)
    assert "suppressed" in sender.reasons and sender.suppression is not None
    assert "suppressed" not in page.reasons and page.suppression is None and page.mx is not None
