"""The test DNS server itself, checked on the wire with dnspython's plain query functions.

Other tests trust this server to behave like a real one; these tests hold it to that.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

if TYPE_CHECKING:
    from tests.support.dnsserver import DnsServer


@pytest.fixture
def server(dns: DnsServer) -> DnsServer:
    """The cleared session server, under a name that does not shadow the ``dns`` package."""
    return dns


def ask(server: DnsServer, name: str, rdtype: str, *, tcp: bool = False, timeout: float = 1.0) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype, use_edns=0)
    ip, port = server.address
    if tcp:
        return dns.query.tcp(query, ip, port=port, timeout=timeout)
    return dns.query.udp(query, ip, port=port, timeout=timeout, ignore_trailing=True)


def test_udp_and_tcp_share_one_port_and_are_counted_apart(server: DnsServer) -> None:
    server.zone.mx("both.test", 10, "mx.both.test")

    over_udp = ask(server, "both.test", "MX")
    over_tcp = ask(server, "both.test", "MX", tcp=True)

    assert over_udp.answer == over_tcp.answer
    assert over_udp.answer[0][0].exchange.to_text() == "mx.both.test."
    assert (server.count("both.test", "MX", "udp"), server.count("both.test", "MX", "tcp")) == (1, 1)


def test_nxdomain_carries_the_soa_minimum(server: DnsServer) -> None:
    server.zone.add_zone("neg.test", minimum=42)

    response = ask(server, "nobody.neg.test", "MX")

    assert response.rcode() == dns.rcode.NXDOMAIN
    soa = response.authority[0]
    assert soa.rdtype == dns.rdatatype.SOA and soa.name.to_text() == "neg.test."
    assert soa[0].minimum == 42 and soa.ttl == 42  # RFC 2308 §5


def test_existing_name_without_the_type_is_nodata(server: DnsServer) -> None:
    server.zone.a("host.test", "8.8.8.8")

    response = ask(server, "host.test", "MX")

    assert response.rcode() == dns.rcode.NOERROR
    assert response.answer == []
    assert response.authority[0].rdtype == dns.rdatatype.SOA


def test_names_outside_every_zone_are_refused() -> None:
    from tests.support.dnsserver import DnsServer, Zone

    with DnsServer(Zone(origins={"only.test": 60})) as own:
        assert ask(own, "elsewhere.example", "MX").rcode() == dns.rcode.REFUSED
        assert ask(own, "missing.only.test", "MX").rcode() == dns.rcode.NXDOMAIN


def test_cname_is_chased_within_the_data(server: DnsServer) -> None:
    server.zone.cname("alias.test", "target.test")
    server.zone.mx("target.test", 1, "mx.target.test")

    response = ask(server, "alias.test", "MX")

    assert [rrset.rdtype for rrset in response.answer] == [dns.rdatatype.CNAME, dns.rdatatype.MX]


@pytest.mark.parametrize(("behaviour", "rcode"), [("servfail", dns.rcode.SERVFAIL), ("refused", dns.rcode.REFUSED)])
def test_rcode_behaviours(server: DnsServer, behaviour: str, rcode: dns.rcode.Rcode) -> None:
    server.zone.mx("odd.test", 1, "mx.odd.test")  # the records exist; the behaviour wins
    getattr(server.zone, behaviour)("odd.test")

    assert ask(server, "odd.test", "MX").rcode() == rcode


def test_behaviour_can_target_one_type(server: DnsServer) -> None:
    server.zone.a("split.test", "8.8.8.8")
    server.zone.servfail("split.test", "AAAA")

    assert ask(server, "split.test", "A").rcode() == dns.rcode.NOERROR
    assert ask(server, "split.test", "AAAA").rcode() == dns.rcode.SERVFAIL


def test_truncate_sets_tc_over_udp_only(server: DnsServer) -> None:
    server.zone.mx("tc.test", 1, "mx.tc.test")
    server.zone.truncate("tc.test")

    over_udp = ask(server, "tc.test", "MX")
    over_tcp = ask(server, "tc.test", "MX", tcp=True)

    assert over_udp.flags & dns.flags.TC and over_udp.answer == []
    assert not over_tcp.flags & dns.flags.TC and over_tcp.answer


def test_drop_never_answers(server: DnsServer) -> None:
    server.zone.drop("void.test")

    with pytest.raises(dns.exception.Timeout):
        ask(server, "void.test", "MX", timeout=0.2)
    assert server.count("void.test") == 1  # heard, not answered


def test_delay_answers_late(server: DnsServer) -> None:
    server.zone.mx("slow.test", 1, "mx.slow.test")
    server.zone.delay("slow.test", 0.2)

    started = time.monotonic()
    response = ask(server, "slow.test", "MX")

    assert time.monotonic() - started >= 0.2
    assert response.answer


def test_clear_forgets_records_behaviours_and_counts(server: DnsServer) -> None:
    server.zone.mx("gone.test", 1, "mx.gone.test")
    server.zone.servfail("gone.test")
    ask(server, "gone.test", "MX")

    server.clear()

    assert server.count() == 0
    assert ask(server, "gone.test", "MX").rcode() == dns.rcode.NXDOMAIN
