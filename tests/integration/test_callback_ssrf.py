"""The callback guard against real listeners on 127.0.0.1 and ::1 that must receive nothing.

Every spelling of a loopback or private address a URL parser, IDNA or inet_aton accepts is
tried at submission (400 ``callback_url``) and at sending time (no TCP connection arrives);
the socket-level guard is also tried alone, on addresses that come from DNS or from IP
literals the client never resolves. Loopback is reachable only when explicitly allowlisted,
which the positive controls use to prove the listeners would have heard a connection.
"""

from __future__ import annotations

import asyncio
import socket

import pytest
from aiohttp import ClientSession, ClientTimeout
from aiohttp.resolver import AsyncResolver

from tests.support.settings import make_settings
from validator.api import create_app
from validator.jobs.callbacks import CallbackSender, guarded_connector


class Listener:
    """A TCP listener that counts the connections it accepts (and answers any request 204)."""

    def __init__(self) -> None:
        self.accepted = 0
        self.port = 0
        self._servers: list[asyncio.Server] = []

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    async def start(self, host: str) -> Listener:
        server = await asyncio.start_server(self._serve, host, 0)
        self._servers.append(server)
        self.port = server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        for server in self._servers:
            server.close()
            await server.wait_closed()


@pytest.fixture
async def v4():
    listener = await Listener().start("127.0.0.1")
    yield listener
    await listener.close()


@pytest.fixture
async def v6():
    if not socket.has_ipv6:
        pytest.fail("IPv6 loopback is needed for the [::1] cases")
    listener = await Listener().start("::1")
    yield listener
    await listener.close()


def _hostile_urls(v4_port: int, v6_port: int) -> list[str]:
    """Spellings that reach 127.0.0.1 or ::1 through some parser on the way to connect()."""
    return [
        f"http://127。0。0。1:{v4_port}/h",  # ideographic full stops, folded by IDNA (UTS #46)
        f"http://①②⑦.0.0.1:{v4_port}/h",  # circled digits, NFKC-folded to 127
        f"http://１２７.０.０.１:{v4_port}/h",  # full-width digits
        f"http://127.0.0.1:{v4_port}/h",  # the plain literal
        f"http://2130706433:{v4_port}/h",  # one decimal number (inet_aton)
        f"http://0177.0.0.1:{v4_port}/h",  # octal first part
        f"http://0x7f.0.0.1:{v4_port}/h",  # hexadecimal first part
        f"http://0x7f000001:{v4_port}/h",  # one hexadecimal number
        f"http://127.1:{v4_port}/h",  # short form a.b
        f"http://127.0.0.1.:{v4_port}/h",  # trailing dot
        f"http://%31%32%37.0.0.1:{v4_port}/h",  # percent-encoded digits
        f"http://a@127.0.0.1:{v4_port}/h",  # userinfo before the host
        f"http://public.example.com@127.0.0.1:{v4_port}/h",  # userinfo that looks like the host
        f"http://localhost:{v4_port}/h",  # loopback by name
        f"http://LOCALHOST.:{v4_port}/h",  # by name, upper case, trailing dot
        f"http://[::ffff:127.0.0.1]:{v4_port}/h",  # IPv4-mapped IPv6
        f"http://[::ffff:7f00:1]:{v4_port}/h",  # the same, in hexadecimal
        f"http://[::1]:{v6_port}/h",  # IPv6 loopback
        f"http://[0:0:0:0:0:0:0:1]:{v6_port}/h",  # the same, uncompressed
        f"http://[::1%25lo]:{v6_port}/h",  # with a zone id
    ]


@pytest.fixture
def zone(dns):
    dns.zone.a("loop.example.com", "127.0.0.1")  # a public name pointing at loopback (rebinding)
    dns.zone.aaaa("mapped.example.com", "::ffff:127.0.0.1")  # the same, as an IPv4-mapped AAAA
    dns.zone.a("hooks.example.com", "127.0.0.1")  # allowlisted by name in the positive control
    return dns


def _resolver(dns) -> AsyncResolver:
    return AsyncResolver(nameservers=[dns.nameserver], timeout=1, tries=1)


async def test_every_spelling_of_loopback_is_refused_at_submission(aiohttp_client, zone, v4, v6, tmp_path):
    settings = make_settings(zone, database_url=f"sqlite:///{tmp_path}/v.sqlite3")
    client = await aiohttp_client(create_app(settings))
    for url in [*_hostile_urls(v4.port, v6.port), "http://169。254。169。254/", "http://１０.０.０.１/"]:
        response = await client.post("/v1/jobs", json={"emails": ["a@example.com"], "callback_url": url})
        body = await response.json()
        assert (response.status, body["error"]["field"]) == (400, "callback_url"), url
    assert (v4.accepted, v6.accepted) == (0, 0)


async def test_every_spelling_of_loopback_is_refused_at_sending(zone, v4, v6):
    resolver = _resolver(zone)
    sender = CallbackSender("s3cret", (), delays=(), resolver=resolver)
    urls = [
        *_hostile_urls(v4.port, v6.port),
        f"http://loop.example.com:{v4.port}/h",
        f"http://mapped.example.com:{v4.port}/h",
    ]
    outcomes = {url: await sender.send(url, b"{}") for url in urls}
    await resolver.close()
    assert all(outcome.startswith("failed") for outcome in outcomes.values()), outcomes
    assert (v4.accepted, v6.accepted) == (0, 0)


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "[::1]", "[::ffff:127.0.0.1]", "loop.example.com", "mapped.example.com"]
)
async def test_the_connector_alone_refuses_loopback_peers(zone, v4, v6, address):
    """No URL check here: IP literals never reach a resolver, names resolve through real DNS."""
    resolver = _resolver(zone)
    port = v6.port if address == "[::1]" else v4.port
    async with ClientSession(connector=guarded_connector(address.strip("[]"), (), resolver)) as session:
        with pytest.raises(OSError, match="refused"):
            await session.post(f"http://{address}:{port}/h", data=b"{}")
    await resolver.close()
    assert (v4.accepted, v6.accepted) == (0, 0)


async def test_the_connector_refuses_a_site_local_peer(zone):
    """fec0::/10 (RFC 3879 deprecated it; kernels still route it, and old internal networks use it)
    is "global" to Python's ipaddress: the guard names it, before any connect()."""
    zone.zone.aaaa("sitelocal.example.com", "fec0::25")
    resolver = _resolver(zone)
    connector = guarded_connector("sitelocal.example.com", (), resolver)
    async with ClientSession(connector=connector, timeout=ClientTimeout(total=3)) as session:
        with pytest.raises(OSError, match="refused: .*site-local"):
            await session.post("http://sitelocal.example.com/h", data=b"{}")
    await resolver.close()


async def test_an_allowlisted_name_or_network_reaches_the_listener(zone, v4, v6):
    """The positive control: the same listeners do hear a callback when the operator allows it."""
    resolver = _resolver(zone)
    by_name = CallbackSender("", ("hooks.example.com",), delays=(), resolver=resolver)
    assert await by_name.send(f"http://hooks.example.com:{v4.port}/h", b"{}") == "sent 204"
    by_network = CallbackSender("", ("::1/128",), delays=(), resolver=resolver)
    assert await by_network.send(f"http://[::1]:{v6.port}/h", b"{}") == "sent 204"
    not_by_name = CallbackSender("", ("hooks.example.com",), delays=(), resolver=resolver)
    assert (await not_by_name.send(f"http://loop.example.com:{v4.port}/h", b"{}")).startswith("failed")
    await resolver.close()
    assert (v4.accepted, v6.accepted) == (1, 1)
