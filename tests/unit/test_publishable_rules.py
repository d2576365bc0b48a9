"""Pure rules of publishable keys: origin normalisation and the per-minute token buckets."""

import pytest

from validator.api.publishable import TokenBuckets
from validator.errors import InvalidField
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
    ],
    ids=["plain", "case_and_slash", "default_port", "port", "ipv6", "null"],
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
