"""MxResolver against a real DNS server on 127.0.0.1 (UDP and TCP): every MX rule, caching, sharing.

The zone data uses globally routable-looking addresses (8.8.8.8, 1.1.1.1, 2001:4860::1):
they are only DNS data here, nothing connects to them. No test reaches past loopback.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

import pytest

from tests.support.settings import make_settings
from validator.model import MxOutcome
from validator.mx import MxResolver

if TYPE_CHECKING:
    from tests.support.dnsserver import DnsServer

MakeResolver = Callable[..., MxResolver]


@pytest.fixture
async def make_resolver(dns: DnsServer) -> AsyncIterator[MakeResolver]:
    """MxResolvers pointed at the test server (short timeouts), closed after the test."""
    made: list[MxResolver] = []

    def make(**overrides: Any) -> MxResolver:
        resolver = MxResolver(make_settings(dns, **({"dns_timeout": 0.2, "dns_tries": 2} | overrides)))
        made.append(resolver)
        return resolver

    yield make
    for resolver in made:
        await resolver.close()


@pytest.fixture
def resolver(make_resolver: MakeResolver) -> MxResolver:
    return make_resolver()


# -- MX rules --------------------------------------------------------------------------------------


async def test_mx_hosts_are_sorted_by_preference_then_name(dns: DnsServer, resolver: MxResolver) -> None:
    dns.zone.mx("shop.test", 20, "b.mx.test")
    dns.zone.mx("shop.test", 10, "c.mx.test")
    dns.zone.mx("shop.test", 10, "a.mx.test")  # ties on preference are ordered by name
    for host in ("a.mx.test", "b.mx.test", "c.mx.test"):
        dns.zone.a(host, "8.8.8.8")
    dns.zone.aaaa("a.mx.test", "2001:4860::1")

    answer = await resolver.lookup("shop.test")

    assert answer.outcome is MxOutcome.MX
    assert [(h.host, h.preference) for h in answer.hosts] == [("a.mx.test", 10), ("c.mx.test", 10), ("b.mx.test", 20)]
    assert answer.hosts[0].addresses == ("8.8.8.8", "2001:4860::1")
    assert all(h.routable for h in answer.hosts) and not answer.unroutable


async def test_null_mx_is_null_mx(dns: DnsServer, resolver: MxResolver) -> None:
    dns.zone.mx("nomail.test", 0, ".", ttl=120)  # RFC 7505 §3; c-ares renders the "." exchange as ""

    answer = await resolver.lookup("nomail.test")

    assert answer.outcome is MxOutcome.NULL_MX
    assert answer.hosts == ()
    assert 110 < answer.ttl <= 120  # a positive answer: cached for its own TTL
    assert dns.count("nomail.test", "A") == 0  # no address lookups for a null MX


async def test_null_mx_beside_a_real_mx_is_ignored(dns: DnsServer, resolver: MxResolver) -> None:
    dns.zone.mx("confused.test", 0, ".")  # breaks RFC 7505 §3 ("MUST NOT" publish others)
    dns.zone.mx("confused.test", 10, "mx.confused.test")
    dns.zone.a("mx.confused.test", "1.1.1.1")

    answer = await resolver.lookup("confused.test")

    assert answer.outcome is MxOutcome.MX
    assert [h.host for h in answer.hosts] == ["mx.confused.test"]


async def test_implicit_mx_uses_the_domains_global_address(dns: DnsServer, resolver: MxResolver) -> None:
    dns.zone.a("bare.test", "10.0.0.7", "1.1.1.1")  # RFC 5321 §5.1: no MX, so the A records serve

    answer = await resolver.lookup("bare.test")

    assert answer.outcome is MxOutcome.IMPLICIT
    assert len(answer.hosts) == 1
    host = answer.hosts[0]
    assert (host.host, host.preference, host.routable) == ("bare.test", 0, True)
    assert set(host.addresses) == {"10.0.0.7", "1.1.1.1"}


async def test_implicit_mx_from_aaaa_alone(dns: DnsServer, resolver: MxResolver) -> None:
    dns.zone.aaaa("six.test", "2001:4860::1")

    answer = await resolver.lookup("six.test")

    assert answer.outcome is MxOutcome.IMPLICIT
    assert answer.hosts[0].addresses == ("2001:4860::1",)


async def test_implicit_mx_with_only_private_addresses_is_no_mx(dns: DnsServer, resolver: MxResolver) -> None:
    dns.zone.a("intranet.test", "10.1.2.3", "127.0.0.1")
    dns.zone.aaaa("intranet.test", "::1")

    answer = await resolver.lookup("intranet.test")

    assert answer.outcome is MxOutcome.NO_MX
    assert answer.hosts == ()


async def test_nxdomain_is_no_such_domain(dns: DnsServer, resolver: MxResolver) -> None:
    dns.zone.mx("exists.test", 10, "mx.exists.test")  # a sibling, so the zone is not empty

    answer = await resolver.lookup("missing.test")

    assert answer.outcome is MxOutcome.NO_SUCH_DOMAIN
    assert dns.count("missing.test", "A") == 0  # NXDOMAIN ends the lookup


async def test_name_without_mx_or_address_is_no_mx(dns: DnsServer, resolver: MxResolver) -> None:
    dns.zone.txt("textonly.test", "v=spf1 -all")  # the name exists (NODATA for MX, A, AAAA)

    answer = await resolver.lookup("textonly.test")

    assert answer.outcome is MxOutcome.NO_MX
    assert dns.count("textonly.test", "A") == 1 and dns.count("textonly.test", "AAAA") == 1


async def test_empty_non_terminal_is_no_mx_not_no_such_domain(dns: DnsServer, resolver: MxResolver) -> None:
    dns.zone.a("mail.parent.test", "8.8.8.8")  # parent.test exists only as an ancestor (RFC 8020)

    answer = await resolver.lookup("parent.test")

    assert answer.outcome is MxOutcome.NO_MX


async def test_cname_at_the_domain_is_followed(dns: DnsServer, resolver: MxResolver) -> None:
    dns.zone.cname("alias.test", "real.test")
    dns.zone.mx("real.test", 5, "mx.real.test")
    dns.zone.a("mx.real.test", "8.8.4.4")

    answer = await resolver.lookup("alias.test")

    assert answer.outcome is MxOutcome.MX
    assert answer.domain == "alias.test"
    assert [h.host for h in answer.hosts] == ["mx.real.test"]


# -- trouble is unknown, never undeliverable --------------------------------------------------------


async def test_servfail_is_error_not_no_such_domain(dns: DnsServer, resolver: MxResolver) -> None:
    dns.zone.servfail("broken.test")

    answer = await resolver.lookup("broken.test")

    assert answer.outcome is MxOutcome.ERROR
    assert answer.detail is not None and "broken.test" in answer.detail


async def test_refused_is_error(dns: DnsServer, resolver: MxResolver) -> None:
    dns.zone.refused("policy.test")

    answer = await resolver.lookup("policy.test")

    assert answer.outcome is MxOutcome.ERROR
    assert answer.detail is not None and "refused" in answer.detail.lower()


async def test_silent_server_times_out_within_the_budget(dns: DnsServer, make_resolver: MakeResolver) -> None:
    dns.zone.drop("blackhole.test")
    resolver = make_resolver(dns_timeout=0.1, dns_tries=2)  # c-ares alone would take >= 0.58 s here

    started = time.monotonic()
    answer = await resolver.lookup("blackhole.test")
    elapsed = time.monotonic() - started

    assert answer.outcome is MxOutcome.TIMEOUT
    assert 0.15 < elapsed < 0.45  # the budget: dns_timeout 0.1 s x dns_tries 2
    assert dns.count("blackhole.test", "MX") >= 1


async def test_a_server_answering_within_dns_timeout_is_waited_for_after_fast_answers(
    dns: DnsServer, make_resolver: MakeResolver
) -> None:
    # c-ares adapts its per-try timeouts to the fast answers (down to 250 ms), then drops a reply
    # that comes within dns_timeout: measured "timeout" after ~0.5 s for a 0.6 s server at 1.0 x 2.
    for i in range(20):
        dns.zone.mx(f"quick{i}.test", 10, "mx.quick.test")
    dns.zone.a("mx.quick.test", "8.8.8.8")
    dns.zone.mx("late.test", 10, "mx.quick.test")
    dns.zone.delay("late.test", 0.6, "MX")
    resolver = make_resolver(dns_timeout=1.0, dns_tries=2)
    for i in range(20):
        assert (await resolver.lookup(f"quick{i}.test")).outcome is not MxOutcome.TIMEOUT

    started = time.monotonic()
    answer = await resolver.lookup("late.test")

    assert answer.outcome is not MxOutcome.TIMEOUT, answer.detail
    assert answer.hosts and answer.hosts[0].host == "mx.quick.test"
    assert time.monotonic() - started < 2.0  # within the budget: dns_timeout 1.0 s x dns_tries 2


async def test_unreachable_nameserver_is_error_or_timeout(make_resolver: MakeResolver) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens once closed: ICMP port unreachable
    resolver = make_resolver(dns_nameservers=(("127.0.0.1", port),))

    answer = await resolver.lookup("anything.test")

    assert answer.outcome in (MxOutcome.ERROR, MxOutcome.TIMEOUT)
    assert answer.detail


async def test_mx_host_with_only_private_addresses_is_unroutable(dns: DnsServer, resolver: MxResolver) -> None:
    dns.zone.mx("lan.test", 10, "mx.lan.test")
    dns.zone.a("mx.lan.test", "10.9.8.7", "127.0.0.1")

    answer = await resolver.lookup("lan.test")

    assert answer.outcome is MxOutcome.MX
    assert set(answer.hosts[0].addresses) == {"10.9.8.7", "127.0.0.1"}  # RRsets are unordered
    assert not answer.hosts[0].routable
    assert answer.unroutable


async def test_mx_host_without_addresses_is_unroutable_not_error(dns: DnsServer, resolver: MxResolver) -> None:
    dns.zone.mx("dangling.test", 10, "gone.dangling.test")  # the exchange is NXDOMAIN

    answer = await resolver.lookup("dangling.test")

    assert answer.outcome is MxOutcome.MX
    assert answer.hosts[0].addresses == ()
    assert answer.unroutable


async def test_mx_host_timeout_is_timeout_not_unroutable(dns: DnsServer, resolver: MxResolver) -> None:
    dns.zone.mx("slowmx.test", 10, "mx.slowmx.test")
    dns.zone.drop("mx.slowmx.test")

    answer = await resolver.lookup("slowmx.test")

    assert answer.outcome is MxOutcome.TIMEOUT
    assert answer.detail is not None and "mx.slowmx.test" in answer.detail


async def test_mx_host_servfail_is_error_not_unroutable(dns: DnsServer, resolver: MxResolver) -> None:
    dns.zone.mx("sickmx.test", 10, "mx.sickmx.test")
    dns.zone.servfail("mx.sickmx.test")

    answer = await resolver.lookup("sickmx.test")

    assert answer.outcome is MxOutcome.ERROR


async def test_one_failing_host_does_not_hide_a_routable_one(dns: DnsServer, resolver: MxResolver) -> None:
    dns.zone.mx("backup.test", 10, "primary.backup.test")
    dns.zone.mx("backup.test", 20, "secondary.backup.test")
    dns.zone.servfail("primary.backup.test")
    dns.zone.a("secondary.backup.test", "1.1.1.1")

    answer = await resolver.lookup("backup.test")

    assert answer.outcome is MxOutcome.MX
    assert [h.routable for h in answer.hosts] == [False, True]
    assert not answer.unroutable


async def test_global_address_settles_routability_when_the_other_family_fails(
    dns: DnsServer, resolver: MxResolver
) -> None:
    dns.zone.mx("half.test", 10, "mx.half.test")
    dns.zone.a("mx.half.test", "8.8.8.8")
    dns.zone.servfail("mx.half.test", "AAAA")

    answer = await resolver.lookup("half.test")

    assert answer.outcome is MxOutcome.MX
    assert answer.hosts[0].routable


async def test_truncated_udp_answer_is_retried_over_tcp(dns: DnsServer, resolver: MxResolver) -> None:
    dns.zone.truncate("big.test")  # RFC 7766 §5: TC=1 over UDP, the full answer over TCP
    dns.zone.mx("big.test", 10, "mx.big.test")
    dns.zone.a("mx.big.test", "8.8.8.8")

    answer = await resolver.lookup("big.test")

    assert answer.outcome is MxOutcome.MX
    assert dns.count("big.test", "MX", "udp") == 1
    assert dns.count("big.test", "MX", "tcp") == 1


async def test_oversized_udp_answer_falls_back_to_tcp(dns: DnsServer, make_resolver: MakeResolver) -> None:
    resolver = make_resolver(dns_timeout=2.0)  # UDP, then TCP for 60 records: 0.4 s was too little on a loaded machine
    for i in range(60):  # ~60 MX records exceed c-ares's 1232-byte EDNS payload
        dns.zone.mx("huge.test", i, f"mx{i:02d}.with-a-rather-long-name.huge.test")
    dns.zone.a("mx00.with-a-rather-long-name.huge.test", "8.8.8.8")

    answer = await resolver.lookup("huge.test")

    assert answer.outcome is MxOutcome.MX
    assert answer.hosts[0].routable
    assert dns.count("huge.test", "MX", "tcp") == 1


# -- caching ---------------------------------------------------------------------------------------


async def test_answer_ttl_is_the_smallest_record_ttl(dns: DnsServer, resolver: MxResolver) -> None:
    dns.zone.mx("ttl.test", 10, "mx.ttl.test", ttl=300)
    dns.zone.a("mx.ttl.test", "8.8.8.8", ttl=60)

    answer = await resolver.lookup("ttl.test")

    assert 55 < answer.ttl <= 60


async def test_answer_ttl_is_capped_by_max_ttl(dns: DnsServer, make_resolver: MakeResolver) -> None:
    dns.zone.mx("long.test", 10, "mx.long.test", ttl=86400)
    dns.zone.a("mx.long.test", "8.8.8.8", ttl=86400)

    answer = await make_resolver(dns_max_ttl=30).lookup("long.test")

    assert 25 < answer.ttl <= 30


async def test_cached_answer_is_reused_within_its_ttl(dns: DnsServer, resolver: MxResolver) -> None:
    dns.zone.mx("steady.test", 10, "mx.steady.test", ttl=300)
    dns.zone.a("mx.steady.test", "8.8.8.8", ttl=300)
    first = await resolver.lookup("steady.test")

    probed = resolver.cached("steady.test")  # synchronous: no await on the hot path
    second = await resolver.lookup("steady.test")

    assert probed is not None and probed.hosts == first.hosts
    assert second.hosts == first.hosts and second.ttl <= first.ttl
    assert dns.count("steady.test", "MX") == 1
    assert (resolver.stats.cache_hits, resolver.stats.cache_misses) == (2, 1)


async def test_answer_is_queried_again_after_its_ttl(dns: DnsServer, resolver: MxResolver) -> None:
    dns.zone.mx("brief.test", 10, "mx.brief.test", ttl=1)
    dns.zone.a("mx.brief.test", "8.8.8.8", ttl=1)
    await resolver.lookup("brief.test")
    assert resolver.cached("brief.test") is not None

    await asyncio.sleep(1.1)
    assert resolver.cached("brief.test") is None
    answer = await resolver.lookup("brief.test")

    assert answer.outcome is MxOutcome.MX
    assert dns.count("brief.test", "MX") == 2


async def test_negative_answer_is_cached_at_most_negative_ttl(dns: DnsServer, make_resolver: MakeResolver) -> None:
    dns.zone.add_zone("neg.test", minimum=0)  # SOA minimum 0: c-ares's own cache keeps nothing either
    resolver = make_resolver(dns_negative_ttl=0.5)

    first = await resolver.lookup("nobody.neg.test")
    cached = resolver.cached("nobody.neg.test")
    await asyncio.sleep(0.6)
    expired = resolver.cached("nobody.neg.test")
    await resolver.lookup("nobody.neg.test")

    assert first.outcome is MxOutcome.NO_SUCH_DOMAIN
    assert 0 < first.ttl <= 0.5
    assert cached is not None and expired is None
    assert dns.count("nobody.neg.test", "MX") == 2


async def test_no_mx_answer_is_bounded_by_negative_ttl(dns: DnsServer, make_resolver: MakeResolver) -> None:
    dns.zone.a("private.test", "192.168.1.1", ttl=3600)

    answer = await make_resolver(dns_negative_ttl=7).lookup("private.test")

    assert answer.outcome is MxOutcome.NO_MX
    assert 0 < answer.ttl <= 7


async def test_errors_are_cached_for_error_ttl(dns: DnsServer, make_resolver: MakeResolver) -> None:
    dns.zone.servfail("flaky.test")
    resolver = make_resolver(dns_error_ttl=5)

    first = await resolver.lookup("flaky.test")
    sent = dns.count("flaky.test")
    second = await resolver.lookup("flaky.test")

    assert first.outcome is second.outcome is MxOutcome.ERROR
    assert 0 < second.ttl <= 5
    assert dns.count("flaky.test") == sent  # answered from the cache


async def test_errors_are_not_cached_when_error_ttl_is_zero(dns: DnsServer, make_resolver: MakeResolver) -> None:
    dns.zone.servfail("flaky.test")
    resolver = make_resolver(dns_error_ttl=0)

    await resolver.lookup("flaky.test")
    sent = dns.count("flaky.test")
    answer = await resolver.lookup("flaky.test")

    assert answer.outcome is MxOutcome.ERROR
    assert resolver.cached("flaky.test") is None
    assert dns.count("flaky.test") > sent


async def test_shared_mx_host_is_resolved_once(dns: DnsServer, resolver: MxResolver) -> None:
    for domain in ("one.test", "two.test"):  # many domains, one provider: the common case
        dns.zone.mx(domain, 10, "mx.provider.test", ttl=300)
    dns.zone.a("mx.provider.test", "8.8.8.8", ttl=60)

    await resolver.lookup("one.test")
    second = await resolver.lookup("two.test")

    assert second.hosts[0].routable and 55 < second.ttl <= 60
    assert resolver.stats.queries_sent == 4  # MX, A, AAAA for one.test; only MX for two.test


async def test_cache_is_bounded_in_size(dns: DnsServer, make_resolver: MakeResolver) -> None:
    resolver = make_resolver(dns_cache_size=3)
    domains = [f"d{i}.bounded.test" for i in range(5)]
    for domain in domains:
        dns.zone.mx(domain, 10, "mx.bounded.test")
    dns.zone.a("mx.bounded.test", "8.8.8.8")

    for domain in domains:
        await resolver.lookup(domain)

    kept = [d for d in domains if resolver.cached(d) is not None]
    assert kept == domains[-3:]  # the least recently used went first


async def test_channels_are_replaced_without_failing_queries_in_flight(
    dns: DnsServer, make_resolver: MakeResolver
) -> None:
    """c-ares' own query cache has no size bound: a channel takes ``channel_queries`` queries, then a
    new one takes over, and the old one answers what it still has in flight before it is closed."""
    resolver = make_resolver()
    resolver.channel_queries = 2
    dns.zone.a("mx.retire.test", "8.8.8.8")
    for name in ("slow.retire.test", *(f"d{i}.retire.test" for i in range(6))):
        dns.zone.mx(name, 10, "mx.retire.test")
    dns.zone.delay("slow.retire.test", 0.15)

    slow = asyncio.create_task(resolver.lookup("slow.retire.test"))  # in flight on the first channel
    await asyncio.sleep(0.02)
    answers = await asyncio.gather(*(resolver.lookup(f"d{i}.retire.test") for i in range(6)))

    assert [a.outcome for a in answers] == [MxOutcome.MX] * 6
    assert (await slow).outcome is MxOutcome.MX
    assert resolver.stats.channels >= 4  # 9 queries or more, 2 per channel
    assert dns.count("slow.retire.test", "MX") == 1  # answered, not retried on a new channel


# -- one query per domain in flight ------------------------------------------------------------------


async def test_concurrent_lookups_of_one_domain_send_one_query(dns: DnsServer, resolver: MxResolver) -> None:
    dns.zone.mx("popular.test", 10, "mx.popular.test")
    dns.zone.a("mx.popular.test", "8.8.8.8")
    dns.zone.delay("popular.test", 0.1)  # keep the first query in flight while the others arrive

    answers = await asyncio.gather(*(resolver.lookup("popular.test") for _ in range(20)))

    assert {a.outcome for a in answers} == {MxOutcome.MX}
    assert dns.count("popular.test", "MX") == 1
    assert dns.count("mx.popular.test", "A") == 1
    assert resolver.stats.shared == 19


async def test_cancelled_waiter_does_not_cancel_the_shared_lookup(dns: DnsServer, resolver: MxResolver) -> None:
    dns.zone.mx("patient.test", 10, "mx.patient.test")
    dns.zone.a("mx.patient.test", "8.8.8.8")
    dns.zone.delay("patient.test", 0.15)
    impatient = asyncio.create_task(resolver.lookup("patient.test"))
    patient = asyncio.create_task(resolver.lookup("patient.test"))
    await asyncio.sleep(0.05)

    impatient.cancel()
    answer = await patient

    assert impatient.cancelled()
    assert answer.outcome is MxOutcome.MX
    assert dns.count("patient.test", "MX") == 1
    assert resolver.cached("patient.test") is not None  # the lookup finished and was stored


async def test_close_answers_pending_lookups_instead_of_raising(dns: DnsServer, resolver: MxResolver) -> None:
    dns.zone.drop("pending.test")
    pending = asyncio.create_task(resolver.lookup("pending.test"))
    await asyncio.sleep(0.05)

    await resolver.close()
    answer = await pending

    assert answer.outcome in (MxOutcome.ERROR, MxOutcome.TIMEOUT)


async def test_lookup_after_close_is_error_not_exception(dns: DnsServer, resolver: MxResolver) -> None:
    await resolver.lookup("warmup.test")
    await resolver.close()

    answer = await resolver.lookup("after.test")

    assert answer.outcome is MxOutcome.ERROR
    assert answer.detail is not None and "closed" in answer.detail
