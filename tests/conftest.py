"""Fixtures shared by every test directory: the loopback DNS server.

Only fixtures live here; the server itself is in ``dnsserver.py`` so benchmarks and scripts
can start it without pytest.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

try:  # tests/ is not a package: pytest puts it on sys.path ("prepend" import mode)
    from dnsserver import DnsServer
except ImportError:  # pragma: no cover - when run with the project root on sys.path instead
    from tests.dnsserver import DnsServer


@pytest.fixture(scope="session")
def dns_server() -> Iterator[DnsServer]:
    """One DNS server on 127.0.0.1 (UDP and TCP, same port) for the whole session."""
    with DnsServer() as server:
        yield server


@pytest.fixture
def dns(dns_server: DnsServer) -> Iterator[DnsServer]:
    """The session's DNS server with an empty zone and zeroed counters for this test."""
    dns_server.clear()
    yield dns_server
    dns_server.clear()
