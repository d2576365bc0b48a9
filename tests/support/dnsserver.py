"""A real DNS server on 127.0.0.1 for tests and benchmarks: UDP and TCP on one ephemeral port.

It answers from an in-memory ``Zone`` that tests mutate, like an authoritative server that
also chases in-zone CNAMEs, so a stub resolver (c-ares, dnspython) sees the wire behaviour of
the real thing: NXDOMAIN and NODATA with an SOA in the authority section (RFC 2308), TC on
oversized or deliberately truncated UDP answers (RFC 1035 §4.2.1, RFC 7766), SERVFAIL,
REFUSED, silence and slowness on demand. Queries are counted per (name, type, transport)
so a test can assert how many reached the wire.

It runs in its own thread with its own event loop, so it serves any test's event loop, a
separately spawned service process, or a benchmark. It never contacts anything: it only
listens on loopback. Nothing in ``validator`` may import it.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset

_IN = dns.rdataclass.IN
_CNAME = dns.rdatatype.CNAME
_SOA = dns.rdatatype.SOA
_CNAME_CHAIN_LIMIT = 8  # deeper chains are answered with what was found so far


def _key(name: str) -> str:
    """Names are stored lower-case without the trailing dot (DNS names compare case-blind, RFC 4343)."""
    return name.lower().rstrip(".") if name not in ("", ".") else ""


def _type(rdtype: str | int | None) -> int | None:
    return None if rdtype is None else dns.rdatatype.RdataType.make(rdtype)


@dataclass(frozen=True, slots=True)
class _Plan:
    """What to do with one query: the answer's wire bytes after the ID (or None to stay silent)."""

    name: str
    rdtype: str
    tail: bytes | None  # None: drop the query
    delay: float = 0.0


class Zone:
    """Records and misbehaviours. Every public method is safe to call from any thread.

    By default the server is authoritative for the whole name space (origin ``"."``), so any
    name with no records and nothing below it is NXDOMAIN. ``add_zone`` adds a cut with its
    own SOA minimum (the negative-caching TTL of RFC 2308 §5). ``Zone(origins={"a.test": 60})``
    serves only the zones listed: names outside them are REFUSED, as from a real authoritative
    server asked about someone else's zone.
    """

    DEFAULT_SOA_MINIMUM = 60

    def __init__(self, origins: dict[str, int] | None = None) -> None:
        self._lock = threading.Lock()
        self._default_origins = (
            {"": self.DEFAULT_SOA_MINIMUM} if origins is None else {_key(o): m for o, m in origins.items()}
        )
        self._version = 0
        self.clear()

    # -- records -------------------------------------------------------------------------------

    def add(self, name: str, rdtype: str | int, value: str, ttl: int = 300) -> None:
        """Add one record in presentation format, e.g. ``add("a.test", "MX", "10 mx.a.test.")``.

        Relative names in ``value`` are taken as absolute. Records of one name and type form
        one RRset whose TTL is the smallest given (RFC 2181 §5.2: an RRset has one TTL).
        """
        key, rtype = _key(name), _type(rdtype)
        assert rtype is not None
        rdata = dns.rdata.from_text(_IN, rtype, value, origin=dns.name.root, relativize=False)
        with self._lock:
            node = self._records.setdefault(key, {})
            rrset = node.get(rtype)
            if rrset is None:
                rrset = node[rtype] = dns.rrset.RRset(dns.name.from_text(key or "."), _IN, rtype)
            rrset.add(rdata, ttl)
            labels = key.split(".") if key else []
            for i in range(len(labels)):
                self._existing.add(".".join(labels[i:]))
            self._existing.add("")
            self._changed()

    def mx(self, name: str, preference: int, exchange: str, ttl: int = 300) -> None:
        """An MX record; ``exchange="."`` makes the RFC 7505 null MX."""
        self.add(name, "MX", f"{preference} {exchange.rstrip('.')}." if exchange != "." else f"{preference} .", ttl)

    def a(self, name: str, *addresses: str, ttl: int = 300) -> None:
        for address in addresses:
            self.add(name, "A", address, ttl)

    def aaaa(self, name: str, *addresses: str, ttl: int = 300) -> None:
        for address in addresses:
            self.add(name, "AAAA", address, ttl)

    def cname(self, name: str, target: str, ttl: int = 300) -> None:
        self.add(name, "CNAME", target.rstrip(".") + ".", ttl)

    def txt(self, name: str, text: str, ttl: int = 300) -> None:
        self.add(name, "TXT", '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"', ttl)

    def add_zone(self, origin: str, minimum: int = DEFAULT_SOA_MINIMUM) -> None:
        """Make ``origin`` a zone apex whose SOA (minimum ``minimum``) goes with negative answers."""
        with self._lock:
            self._origins[_key(origin)] = minimum
            self._changed()

    # -- misbehaviours: per name, or per name and type ---------------------------------------------

    def servfail(self, name: str, rdtype: str | None = None) -> None:
        self._set(name, rdtype, ("rcode", dns.rcode.SERVFAIL))

    def refused(self, name: str, rdtype: str | None = None) -> None:
        self._set(name, rdtype, ("rcode", dns.rcode.REFUSED))

    def drop(self, name: str, rdtype: str | None = None) -> None:
        """Never answer (UDP and TCP), as a dead or firewalled server does."""
        self._set(name, rdtype, ("drop", None))

    def truncate(self, name: str, rdtype: str | None = None) -> None:
        """Answer UDP with TC and no records, so the client must retry over TCP (RFC 7766 §5)."""
        self._set(name, rdtype, ("truncate", None))

    def delay(self, name: str, seconds: float, rdtype: str | None = None) -> None:
        """Answer correctly, but only after ``seconds``; combines with the other behaviours."""
        with self._lock:
            self._delays[(_key(name), _type(rdtype))] = seconds
            self._changed()

    def clear(self) -> None:
        """Forget every record, zone and misbehaviour."""
        with self._lock:
            self._records: dict[str, dict[int, dns.rrset.RRset]] = {}
            self._existing: set[str] = set()  # names with records and their ancestors (RFC 8020)
            self._origins: dict[str, int] = dict(self._default_origins)
            self._behaviours: dict[tuple[str, int | None], tuple[str, Any]] = {}
            self._delays: dict[tuple[str, int | None], float] = {}
            self._changed()

    def _set(self, name: str, rdtype: str | None, behaviour: tuple[str, Any]) -> None:
        with self._lock:
            self._behaviours[(_key(name), _type(rdtype))] = behaviour
            self._changed()

    def _changed(self) -> None:
        self._version += 1

    @property
    def version(self) -> int:
        """Grows on every change, so answers rendered earlier can be recognised as stale."""
        return self._version

    # -- answering (server thread) -------------------------------------------------------------------

    def plan(self, query: dns.message.Message, transport: str) -> _Plan:
        """Decide the answer to ``query`` arriving over ``transport`` ("udp" or "tcp")."""
        question = query.question[0]
        name, rdtype = _key(question.name.to_text()), question.rdtype
        type_text = dns.rdatatype.to_text(rdtype)
        with self._lock:
            behaviour = self._behaviours.get((name, rdtype)) or self._behaviours.get((name, None))
            delay = self._delays.get((name, rdtype), self._delays.get((name, None), 0.0))
            if behaviour is not None and behaviour[0] == "drop":
                return _Plan(name, type_text, None, delay)
            response = dns.message.make_response(query)
            response.flags |= dns.flags.AA
            if behaviour is not None and behaviour[0] == "rcode":
                response.set_rcode(behaviour[1])
            elif behaviour is not None and behaviour[0] == "truncate" and transport == "udp":
                response.flags |= dns.flags.TC
            else:
                self._answer(response, name, rdtype)
        limit = 65535 if transport == "tcp" else (query.payload if query.edns >= 0 else 512)
        wire = response.to_wire(max_size=limit, prefer_truncation=True)  # sets TC when too big
        return _Plan(name, type_text, wire[2:], delay)

    def _answer(self, response: dns.message.Message, name: str, rdtype: int) -> None:
        """Fill the answer, chasing CNAMEs inside our data (RFC 1034 §4.3.2 step 3a)."""
        zone = self._zone_of(name)
        if zone is None:
            response.set_rcode(dns.rcode.REFUSED)  # not authoritative for this name
            return
        for _ in range(_CNAME_CHAIN_LIMIT):
            node = self._records.get(name, {})
            if rdtype in node:
                response.answer.append(node[rdtype])
                return
            if _CNAME in node and rdtype != _CNAME:
                response.answer.append(node[_CNAME])
                name = _key(node[_CNAME][0].target.to_text())
                zone = self._zone_of(name)
                if zone is None:
                    return  # target outside our data: the client's resolver would chase it
                continue
            break
        if name not in self._existing:
            response.set_rcode(dns.rcode.NXDOMAIN)  # RFC 6604: the rcode describes the last name
        response.authority.append(self._soa(zone))  # RFC 2308 §3: negative answers carry the SOA

    def _zone_of(self, name: str) -> str | None:
        labels = name.split(".") if name else []
        for i in range(len(labels) + 1):
            candidate = ".".join(labels[i:])
            if candidate in self._origins:
                return candidate
        return None

    def _soa(self, origin: str) -> dns.rrset.RRset:
        minimum = self._origins[origin]
        apex = dns.name.from_text(origin or ".")
        rdata = dns.rdata.from_text(
            _IN,
            _SOA,
            f"ns.{origin or 'root'}. hostmaster.{origin or 'root'}. 1 3600 600 86400 {minimum}",
            relativize=False,
        )
        rrset = dns.rrset.RRset(apex, _IN, _SOA)
        rrset.add(rdata, minimum)  # RFC 2308 §5: negative TTL = min(SOA TTL, SOA MINIMUM)
        return rrset


class DnsServer:
    """UDP and TCP DNS on 127.0.0.1, one port, in a thread of its own.

    ``queries`` counts what arrived, keyed ``(name, type, transport)``; names are lower-case
    without the trailing dot, types are text ("MX"), transports "udp" or "tcp".
    """

    def __init__(self, zone: Zone | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.zone = zone or Zone()
        self.queries: Counter[tuple[str, str, str]] = Counter()
        self.errors: list[Exception] = []  # failures inside the server; the fixture asserts none
        self._host = host
        self._port = 0
        self._wanted_port = port  # 0: ephemeral; a fixed port only inside a private network namespace
        self._counter_lock = threading.Lock()
        self._plans: dict[tuple[str, bytes], _Plan] = {}  # identical queries get identical answers
        self._plans_version = -1
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopped: asyncio.Event | None = None

    @property
    def address(self) -> tuple[str, int]:
        return (self._host, self._port)

    @property
    def nameserver(self) -> str:
        """``"127.0.0.1:port"``: the form ``VALIDATOR_DNS_NAMESERVERS`` and c-ares accept."""
        return f"{self._host}:{self._port}"

    def start(self) -> DnsServer:
        ready = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(target=self._run, args=(ready, failure), name="dns-server", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stopped is not None:
            self._loop.call_soon_threadsafe(self._stopped.set)
        if self._thread is not None:
            self._thread.join(10)
        self._thread = self._loop = None

    def __enter__(self) -> DnsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def clear(self) -> None:
        """Reset the zone, the misbehaviours and the counters (between tests)."""
        self.zone.clear()
        self.reset_counts()

    def reset_counts(self) -> None:
        with self._counter_lock:
            self.queries.clear()
        self.errors.clear()

    def count(self, name: str | None = None, rdtype: str | None = None, transport: str | None = None) -> int:
        """Queries received matching every given part (``None`` matches anything)."""
        key = None if name is None else _key(name)
        with self._counter_lock:
            return sum(
                n
                for (q_name, q_type, q_transport), n in self.queries.items()
                if (key is None or q_name == key)
                and (rdtype is None or q_type == rdtype.upper())
                and (transport is None or q_transport == transport)
            )

    # -- server thread -------------------------------------------------------------------------

    def _run(self, ready: threading.Event, failure: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve(ready))
        except BaseException as exc:  # noqa: BLE001 - reported to start()
            failure.append(exc)
            ready.set()
        finally:
            loop.close()

    async def _serve(self, ready: threading.Event) -> None:
        self._stopped = asyncio.Event()
        udp, tcp = await self._bind()
        ready.set()
        try:
            await self._stopped.wait()
        finally:
            udp.close()
            tcp.close()
            connections = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in connections:  # TCP clients that kept their connection open
                task.cancel()
            await asyncio.gather(*connections, return_exceptions=True)
            await tcp.wait_closed()

    async def _bind(self) -> tuple[asyncio.DatagramTransport, asyncio.Server]:
        """Bind UDP on an ephemeral port, then TCP on the same number; retry if it is taken."""
        loop = asyncio.get_running_loop()
        for _ in range(50):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)  # bursts of queries must not drop
            sock.bind((self._host, self._wanted_port))
            udp, _protocol = await loop.create_datagram_endpoint(lambda: _UdpProtocol(self), sock=sock)
            port = udp.get_extra_info("sockname")[1]
            try:
                tcp = await asyncio.start_server(self._serve_tcp, self._host, port, reuse_address=True)
            except OSError:
                udp.close()
                continue
            self._port = port
            return udp, tcp
        raise OSError("no port free for both UDP and TCP")

    def plan(self, wire: bytes, transport: str) -> _Plan | None:
        """Parse a query and decide its answer, memoised per identical query bytes (after the ID)."""
        version = self.zone.version
        if version != self._plans_version:
            self._plans.clear()
            self._plans_version = version
        key = (transport, _memo_key(wire))
        found = self._plans.get(key)
        if found is None:
            try:
                query = dns.message.from_wire(wire)
            except dns.exception.DNSException:
                return None  # not DNS: ignore, as servers do with garbage
            if len(query.question) != 1:
                return None
            try:
                found = self.zone.plan(query, transport)
            except Exception as exc:  # noqa: BLE001 - a bug in this server must fail the test, not hang it
                self.errors.append(exc)
                return None
            if len(self._plans) > 100_000:
                self._plans.clear()
            self._plans[key] = found
        with self._counter_lock:
            self.queries[(found.name, found.rdtype, transport)] += 1
        return found

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """RFC 7766 §8: two-byte length prefix; answers may leave out of order (pipelining)."""
        tasks: set[asyncio.Task[None]] = set()
        try:
            while True:
                (length,) = struct.unpack("!H", await reader.readexactly(2))
                wire = await reader.readexactly(length)
                plan = self.plan(wire, "tcp")
                if plan is None or plan.tail is None:
                    continue
                answer = wire[:2] + plan.tail
                if plan.delay:
                    task = asyncio.create_task(_write_later(writer, answer, plan.delay))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                else:
                    writer.write(struct.pack("!H", len(answer)) + answer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            for task in tasks:
                task.cancel()
            writer.close()


def _memo_key(wire: bytes) -> bytes:
    """What an answer depends on: flags, question, and the EDNS payload size if any.

    Not the ID (patched per reply) and not EDNS options: c-ares sends a random client cookie
    (RFC 7873) per channel, and our answers carry no options, so a query from a fresh
    resolver can reuse the answer rendered for an earlier one.
    """
    try:
        end = 12
        while wire[end]:
            if wire[end] & 0xC0:  # a compression pointer in a question: unusual, do not memoise cleverly
                return wire[2:]
            end += wire[end] + 1
        end += 5  # the root label, QTYPE, QCLASS
        has_opt = wire[10:12] != b"\0\0"
        return wire[2:4] + wire[12:end] + (wire[end + 3 : end + 5] if has_opt else b"")
    except IndexError:
        return wire[2:]


async def _write_later(writer: asyncio.StreamWriter, answer: bytes, delay: float) -> None:
    await asyncio.sleep(delay)
    if not writer.is_closing():
        writer.write(struct.pack("!H", len(answer)) + answer)


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, server: DnsServer) -> None:
        self._server = server
        self._transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        plan = self._server.plan(data, "udp")
        if plan is None or plan.tail is None or self._transport is None:
            return
        answer = data[:2] + plan.tail
        if plan.delay:
            asyncio.get_running_loop().call_later(plan.delay, self._send, answer, addr)
        else:
            self._transport.sendto(answer, addr)

    def _send(self, answer: bytes, addr: tuple[str, int]) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.sendto(answer, addr)
