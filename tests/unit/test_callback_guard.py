"""Where a job callback may go, and its signature (pure)."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from validator.errors import InvalidField
from validator.jobs.callback_guard import callback_target_refusal, check_callback_url, sign


@pytest.mark.parametrize(
    ("host", "address", "allow", "refused"),
    [
        ("hooks.example.com", "93.184.216.34", (), False),  # a public address
        ("evil.example.com", "127.0.0.1", (), True),  # a public name pointing at loopback (DNS rebinding)
        ("evil.example.com", "10.1.2.3", (), True),  # RFC 1918
        ("evil.example.com", "169.254.169.254", (), True),  # cloud metadata, link-local
        ("evil.example.com", "::1", (), True),  # IPv6 loopback
        ("evil.example.com", "100.64.0.1", (), True),  # CGNAT, RFC 6598
        ("hooks.internal", "10.1.2.3", ("hooks.internal",), False),  # allowlisted by name
        ("svc", "10.1.2.3", ("10.0.0.0/8",), False),  # allowlisted by network
    ],
    ids=["public", "loopback", "private", "metadata", "v6-loopback", "cgnat", "allowed-name", "allowed-network"],
)
def test_callback_target_refusal(host, address, allow, refused):
    assert (callback_target_refusal(host, address, allow) is not None) is refused


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x",  # not http(s)
        "http:///path",  # no host
        "http://127.0.0.1:8080/hook",  # a loopback literal
        "http://[::1]/hook",  # an IPv6 loopback literal
        "http://localhost/hook",  # loopback by name
        "http://printer.local/hook",  # mDNS, on the local link
        "http://127。0。0。1/hook",  # ideographic full stops: IDNA folds them to 127.0.0.1
        "http://169。254。169。254/",  # the cloud metadata address, the same way
        "http://１０.０.０.１/",  # full-width digits: 10.0.0.1
        "http://2130706433/",  # one decimal number: inet_aton reads 127.0.0.1
        "http://[fe80::1%25eth0]/",  # a zone id
    ],
    ids=[
        "scheme",
        "no-host",
        "v4-literal",
        "v6-literal",
        "localhost",
        "dot-local",
        "ideographic",
        "metadata",
        "full-width",
        "decimal",
        "zone-id",
    ],
)
def test_check_callback_url_refuses(url):
    with pytest.raises(InvalidField):
        check_callback_url(url, ())


def test_check_callback_url_accepts_public_and_allowlisted():
    assert check_callback_url("https://hooks.example.com/x", ()) == "https://hooks.example.com/x"
    assert check_callback_url("http://127.0.0.1:9/x", ("127.0.0.1",)) == "http://127.0.0.1:9/x"
    # stored as it will be requested: IDNA applied once, here
    assert check_callback_url("https://bücher.example/x", ()) == "https://xn--bcher-kva.example/x"


def test_signature_is_hmac_of_time_and_body():
    expected = hmac.new(b"k", b"1700000000.{}", hashlib.sha256).hexdigest()
    assert sign("k", 1_700_000_000, b"{}") == f"t=1700000000,v1={expected}"
