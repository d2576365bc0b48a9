"""The network guard: which resolved addresses an outbound connection may go to."""

import pytest

from validator.netguard import parse_networks, permitted, refusal

LOOPBACK = parse_networks("127.0.0.0/8")


@pytest.mark.parametrize(
    "address, why",
    [
        ("8.8.8.8", None),  # a public unicast address
        ("2001:4860:4860::8888", None),
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),  # RFC 1918
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),  # RFC 4193 unique local
        ("169.254.169.254", "link-local"),  # the cloud metadata service: the classic SSRF target
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),  # Python 3.11 calls this global: checked explicitly
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "not globally routable"),  # RFC 6598 carrier-grade NAT
        ("192.0.2.1", "private"),  # RFC 5737 documentation
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped: the kernel connects to 127.0.0.1
        ("2002:7f00:1::1", "loopback"),  # 6to4 wrapping 127.0.0.1
        ("64:ff9b::808:808", "reserved"),  # NAT64: refused unless allowlisted (see below)
        ("fec0::1", "site-local"),  # RFC 3879 deprecated it, kernels still route it; Python calls it global
        ("not-an-ip", "not an IP address"),
    ],
)
def test_refusal_names_the_reason(address, why):
    found = refusal(address)
    assert (found is None) if why is None else (why in found)


@pytest.mark.parametrize("address", ["127.0.0.1", "127.9.8.7", "::ffff:127.0.0.5"])
def test_allowlist_admits_its_networks(address):
    assert permitted(address, LOOPBACK)


def test_allowlist_admits_nothing_else():
    assert not permitted("10.0.0.1", LOOPBACK)
    assert not permitted("::1", LOOPBACK)  # an IPv4 network never admits an IPv6 address


def test_an_allowlisted_wrapper_does_not_admit_what_it_wraps():
    nat64 = parse_networks("64:ff9b::/96")
    assert permitted("64:ff9b::808:808", nat64)  # 8.8.8.8 through the NAT64 gateway
    assert "10.0.0.1" in refusal("64:ff9b::a00:1", nat64)  # 10.0.0.1 through it: still private


def test_parse_networks_refuses_host_bits():
    assert parse_networks(" 127.0.0.0/8, 10.1.0.0/16 ,") == (*LOOPBACK, *parse_networks("10.1.0.0/16"))
    with pytest.raises(ValueError):
        parse_networks("10.1.2.3/8")  # a typo for 10.0.0.0/8 or for 10.1.2.3/32: not guessed
