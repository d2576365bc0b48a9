"""Pure rules of publishable keys: origin normalisation and the per-minute token buckets."""

import time
from datetime import UTC, datetime

import pytest

from validator.api.publishable import MAX_BUCKETS, PublishableGate, TokenBuckets, client_of
from validator.errors import InvalidField, RateLimited
from validator.model import ApiKey
from validator.store.api_tokens import parse_origin


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("https://shop.example", "https://shop.example"),
        ("HTTPS://Shop.Example/", "https://shop.example"),  # browsers send lower-case hosts, no path
        ("https://shop.example:443", "https://shop.example"),  # RFC 6454 §6.1: the default port is omitted
        ("http://localhost:8000", "http://localhost:8000"),
        ("http://[::1]:8080", "http://[::1]:8080"),
        ("null", "null"),  # what a page opened from a file sends
        ("https://Bücher.example", "https://xn--bcher-kva.example"),  # browsers send the IDNA form
        ("https://faß.de", "https://xn--fa-hia.de"),  # UTS #46 nontransitional, as browsers: not "fass.de"
    ],
    ids=["plain", "case_and_slash", "default_port", "port", "ipv6", "null", "idn", "idn_sharp_s"],
)
def test_origins_are_stored_as_browsers_send_them(given, stored):
    assert parse_origin(given) == stored


@pytest.mark.parametrize(
    "given",
    [
        "shop.example",
        "ftp://shop.example",
        "https://shop.example/signup",
        "https://user@shop.example",
        "https://shop.example?x=1",
        "https://:80",
        "https://shop.example:99999",
    ],
    ids=["no_scheme", "ftp", "path", "userinfo", "query", "no_host", "bad_port"],
)
def test_what_is_not_an_origin_is_refused(given):
    with pytest.raises(InvalidField):
        parse_origin(given)


def test_a_bucket_allows_a_minute_burst_then_one_request_per_share_of_the_minute():
    buckets = TokenBuckets(limit=6)  # 6 a minute: one more every 10 s
    assert [buckets.take("ip:a", now=0.0) for _ in range(6)] == [0.0] * 6
    assert buckets.take("ip:a", now=0.0) == pytest.approx(10.0)
    assert buckets.take("ip:b", now=0.0) == 0.0  # another client has its own bucket
    assert buckets.take("ip:a", now=10.0) == 0.0  # refilled by one
    assert buckets.take("ip:a", now=10.0) == pytest.approx(10.0)


def test_full_buckets_are_forgotten_so_memory_stays_bounded():
    buckets = TokenBuckets(limit=60)
    for i in range(10_001):
        buckets.take(f"ip:{i}", now=0.0)
    buckets.take("ip:late", now=120.0)  # every earlier bucket has refilled by now
    assert len(buckets._buckets) == 1


def _gate_admitting(per_ip: int) -> tuple[PublishableGate, ApiKey]:
    async def no_keys() -> list[ApiKey]:
        return []

    key = ApiKey("0" * 16, "signup", frozenset({"publishable", "origin:https://shop.example"}), datetime.now(UTC))
    return PublishableGate(per_key=1000, per_ip=per_ip, list_keys=no_keys, origins_ttl=5.0, clock=lambda: 0.0), key


def test_addresses_of_one_ipv6_slash_64_share_one_client_bucket():
    """A host holds a whole /64 and rotates privacy addresses in it (RFC 8981): a fresh address per
    request must not be a fresh bucket, or one client spends the key's whole budget."""
    gate, key = _gate_admitting(per_ip=3)
    for n in range(3):
        gate.admit(key, "https://shop.example", f"2001:db8:1:2::{n + 1:x}")
    with pytest.raises(RateLimited):
        gate.admit(key, "https://shop.example", "2001:db8:1:2:ffff:ffff:ffff:ffff")
    gate.admit(key, "https://shop.example", "2001:db8:1:3::1")  # the next /64 is another client


@pytest.mark.parametrize(
    ("remote", "client"),
    [
        ("203.0.113.7", "203.0.113.7"),  # IPv4: the address
        ("2001:db8:1:2:a:b:c:d", "2001:db8:1:2::/64"),  # IPv6: its /64
        ("::ffff:203.0.113.7", "203.0.113.7"),  # IPv4 through a dual-stack socket: the same client as over IPv4
        ("::1", "::/64"),  # loopback
        ("", ""),  # no peer address (a Unix socket): one shared bucket
    ],
    ids=["ipv4", "ipv6", "ipv4-mapped", "ipv6-loopback", "none"],
)
def test_the_client_a_bucket_counts(remote, client):
    assert client_of(remote) == client


def test_new_client_names_cost_constant_time_and_bounded_memory():
    """Client names are the attacker's choice (an address each). The sweep used to run on every
    request past 10,000 names: 20,000 new clients took 16 s of the event loop, 40,000 more 85 s."""
    buckets = TokenBuckets(limit=30)
    started = time.process_time()
    for n in range(40_000):
        buckets.take(f"ip:{n}", now=1.0)  # all within one minute: none refilled, none can be swept
    assert time.process_time() - started < 2.0
    for n in range(40_000, 250_000):
        buckets.take(f"ip:{n}", now=1.0)
    assert len(buckets) <= MAX_BUCKETS
    assert buckets.take("ip:249999", now=1.0) == 0.0  # the newest are kept: a recent client keeps its bucket
