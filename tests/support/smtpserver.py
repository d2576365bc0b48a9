"""Scripted aiosmtpd servers on loopback for the prober's tests and benchmark.

Every server listens on its own loopback address (127.0.x.y) and all share one port, because
the prober, like a real MTA, connects to one port (``VALIDATOR_SMTP_PORT``) on whatever address
the MX record gives. Each server follows a ``Script`` that tests change freely (mailboxes,
accept-all, greylisting, a tarpit, a dropped connection, a recipient limit, STARTTLS, a block)
and counts what reached it: connections, the peak of simultaneous sessions, each RCPT TO and
whether DATA was ever sent. The servers run in one thread with its own event loop, so any test's
loop, a service process or a benchmark can use them. Nothing in ``validator`` may import this.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import ssl
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

ACCEPTED = "250 2.1.5 OK"
# Postfix: the reply our prober must read as a missing mailbox
UNKNOWN_USER = "550 5.1.1 <{addr}>: Recipient address rejected: User unknown in local recipient table"
GREYLISTED = "451 4.7.1 Greylisting in action, please come back later"  # Exim greylistd
TOO_MANY = "452 4.5.3 Error: too many recipients"  # Postfix smtpd_recipient_limit
# Postfix smtpd_hard_error_limit: "421 4.7.0 <myhostname> Error: too many errors" (smtpd.c)
TOO_MANY_ERRORS = "421 4.7.0 mx.example Error: too many errors"
BLOCKED = "554 5.7.1 Service unavailable; Client host [127.0.0.1] blocked using zen.spamhaus.org"
# Postfix's defaults (https://www.postfix.org/postconf.5.html): smtpd_soft_error_limit = 10,
# smtpd_error_sleep_time = 1s, smtpd_hard_error_limit = 20. Errors are the 4xx/5xx replies of one
# session; from the soft limit on every reply is delayed, at the hard limit the session gets 421.
POSTFIX_SOFT_ERRORS, POSTFIX_ERROR_SLEEP, POSTFIX_HARD_ERRORS = 10, 1.0, 20


@dataclass
class Script:
    """How one server behaves. Replies may contain ``{addr}``, replaced by the recipient."""

    mailboxes: dict[str, str] = field(default_factory=dict)  # lower-case address -> reply
    unknown: str = UNKNOWN_USER  # the reply for any other address
    accept_all: bool = False  # every address is accepted (a catch-all domain)
    accept_all_domains: frozenset[str] = frozenset()  # ... or every address at these domains
    greylist: bool = False  # each address's first RCPT gets GREYLISTED, later ones the real reply
    rcpt_delay: float = 0.0  # a tarpit: seconds before each RCPT reply
    unknown_delay: float = 0.0  # ... or only before the replies to addresses not in ``mailboxes``
    drop_at_rcpt: int | None = None  # close the connection, unanswered, at this RCPT of a session (1-based)
    drops: int = 1  # ... for this many sessions, then behave
    max_rcpts: int | None = None  # refuse recipients beyond this many in one transaction (TOO_MANY)
    max_session_rcpts: int | None = None  # ... or beyond this many in one connection, RSET or not
    ehlo_refused: bool = False  # answer EHLO "502": an old server that only knows HELO
    mail_reply: str | None = None  # refuse MAIL FROM with this reply (e.g. an RBL block)
    greeting: str | None = None  # send this instead of the 220 banner, then hang up
    max_connections: int | None = None  # beyond this many at once, greet "421 too many connections" and hang up
    soft_error_limit: int | None = None  # like Postfix: after this many errors in a session, delay every reply...
    error_sleep: float = POSTFIX_ERROR_SLEEP  # ... by this many seconds
    hard_error_limit: int | None = None  # ... and at this many, answer the next command 421 and hang up
    reply_delay: float = 0.0  # a tarpit from the first reply: seconds before every reply, the greeting too
    pipelining: bool = False  # advertise PIPELINING (RFC 2920), as Postfix does by default
    greeting_delay: float = 0.0  # seconds before the 220 banner only (Postfix postscreen's greet wait, a busy host)
    block_after: int | None = None  # after this many RCPT TO in all, refuse the client (BLOCKED) everywhere
    # like Sendmail's BadRcptThrottle: after this many refused RCPT TO in a transaction (MAIL FROM starts the count
    # again), every further RCPT TO waits ``error_sleep`` first, whatever its answer
    rcpt_throttle: int | None = None
    hold_replies: bool = (
        False  # like Sendmail: no reply is written while commands wait unread (a group's come together)
    )


def postfix_defaults(**changes: Any) -> Script:
    """A server with Postfix's default anti-harvesting limits (see POSTFIX_SOFT_ERRORS)."""
    return Script(
        soft_error_limit=POSTFIX_SOFT_ERRORS, hard_error_limit=POSTFIX_HARD_ERRORS, **{"pipelining": True, **changes}
    )


class _Handler:
    def __init__(self, server: ScriptedServer) -> None:
        self.server = server

    async def handle_EHLO(
        self, smtp: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        if self.server.script.ehlo_refused:
            return ["502 5.5.2 Error: command not recognized"]
        session.host_name = hostname
        self.server.helo_names.append(hostname)
        if self.server.script.pipelining:  # aiosmtpd reads pipelined commands in order; it only does not say so
            responses.insert(len(responses) - 1, "250-PIPELINING")
        return responses

    async def handle_MAIL(
        self, smtp: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        self.server.mail_froms.append(address)
        if self.server.script.mail_reply:
            return self.server.script.mail_reply
        envelope.mail_from = address
        envelope.rcpt_tos.clear()
        self.server.transaction_refusals[id(session)] = 0
        return "250 2.1.0 OK"

    async def handle_RCPT(
        self, smtp: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        server, script = self.server, self.server.script
        per_session = server.session_rcpts[id(session)] = server.session_rcpts[id(session)] + 1
        server.rcpts.append(address)
        if script.rcpt_throttle is not None and server.transaction_refusals[id(session)] >= script.rcpt_throttle:
            server.delayed += 1
            await asyncio.sleep(script.error_sleep)
        server.tls_rcpts += session.ssl is not None
        if script.drop_at_rcpt == per_session and server.dropped < script.drops:
            server.dropped += 1
            assert smtp.transport is not None
            smtp.transport.abort()  # gone without a reply, as a crashing server or a cut link
            return "250 2.1.5 never sent"
        if script.max_rcpts is not None and len(envelope.rcpt_tos) >= script.max_rcpts:
            return TOO_MANY
        if script.max_session_rcpts is not None and per_session > script.max_session_rcpts:
            return TOO_MANY
        if script.rcpt_delay:
            await asyncio.sleep(script.rcpt_delay)
        if script.unknown_delay and address.lower() not in script.mailboxes:
            await asyncio.sleep(script.unknown_delay)
        if script.block_after is not None and len(server.rcpts) > script.block_after:
            server.blocked = True  # e.g. fail2ban on "User unknown" lines, or a DNSBL that listed us meanwhile
            return BLOCKED
        key = address.lower()
        if script.greylist and key not in server.greylisted:
            server.greylisted.add(key)
            return GREYLISTED
        catch_all = script.accept_all or key.rpartition("@")[2] in script.accept_all_domains
        reply = script.mailboxes.get(key, ACCEPTED if catch_all else script.unknown)
        if reply.startswith("2"):
            envelope.rcpt_tos.append(address)
        else:
            server.transaction_refusals[id(session)] += 1
        return reply.format(addr=address)

    async def handle_QUIT(self, smtp: SMTP, session: Session, envelope: Envelope) -> str:
        self.server.quits += 1
        return "221 2.0.0 Bye"

    async def handle_DATA(self, smtp: SMTP, session: Session, envelope: Envelope) -> str:
        self.server.data_commands += 1  # a prober must never get here
        return "554 5.5.1 no DATA for probers"


class _CountingSMTP(SMTP):
    def __init__(self, server: ScriptedServer, **kwargs: Any) -> None:
        super().__init__(_Handler(server), **kwargs)
        self._counted = server
        self.errors = 0  # 4xx/5xx replies in this session (Postfix's error_count)
        self._hung_up = False
        self._held: list[Any] = []  # replies not yet written (``Script.hold_replies``)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self.transport is None:  # not the second call that follows STARTTLS
            self._counted.opened(self)
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        self._counted.closed(self)
        super().connection_lost(error)

    def data_received(self, data: bytes) -> None:
        if b"RCPT" in data.upper():  # a pipelining client's group arrives in one read (RFC 2920)
            self._counted.rcpts_per_read.append(data.upper().count(b"RCPT TO:"))
        super().data_received(data)

    async def push(self, status: Any) -> None:
        """Every reply passes here: Postfix's error delay and hard limit, and the tarpit."""
        script, text = self._counted.script, status if isinstance(status, str) else status.decode()
        delay = script.reply_delay
        if script.soft_error_limit is not None and self.errors >= script.soft_error_limit:
            delay = max(delay, script.error_sleep)
        if delay:
            self._counted.delayed += 1
            await asyncio.sleep(delay)
        hard = script.hard_error_limit
        if self._hung_up:  # a pipelined command read before the hang-up: Postfix never answers it
            return
        if hard is not None and self.errors >= hard:
            self._hung_up = True
            self._counted.hangups += 1
            await super().push(TOO_MANY_ERRORS)
            assert self.transport is not None
            self.transport.close()
            return
        if text[:1] in "45":
            self.errors += 1
        if script.hold_replies and len(getattr(self._reader, "_buffer", b"")):  # more commands wait unread
            self._held.append(status)
            return
        held, self._held = self._held, []
        for reply in (*held, status):
            await super().push(reply)

    async def _handle_client(self) -> None:
        if self._counted.script.greeting_delay:
            await asyncio.sleep(self._counted.script.greeting_delay)
        greeting = self._counted.script.greeting
        limit = self._counted.script.max_connections
        if limit is not None and self._counted.active > limit:
            # Postfix smtpd_client_connection_count_limit
            greeting = "421 4.7.0 mx.example Error: too many connections from 127.0.0.1"
        if self._counted.blocked:
            greeting = BLOCKED
        if greeting is None:
            return await super()._handle_client()
        await self.push(greeting)
        assert self.transport is not None and self._reader is not None
        if greeting.startswith("554"):
            # RFC 5321 §3.1: after a 554 greeting the server "MUST wait for the client to send a QUIT
            # command before closing the connection and SHOULD respond to any intervening commands
            # with 503 bad sequence of commands".
            with contextlib.suppress(OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                async with asyncio.timeout(10):
                    while (await self._reader.readuntil()).strip().upper() != b"QUIT":
                        await super().push("503 5.5.1 Error: bad sequence of commands")
                    self._counted.quits += 1
                    await super().push("221 2.0.0 Bye")
        self.transport.close()  # a 421 greeting hangs up at once (RFC 5321 §3.8)


class ScriptedServer:
    """One aiosmtpd server at ``ip``:``port``; counters reset with ``reset()``."""

    def __init__(self, ip: str, port: int, script: Script, tls: ssl.SSLContext | None) -> None:
        self.ip, self.port, self.script, self.tls = ip, port, script, tls
        self._lock = threading.Lock()
        self._server: asyncio.AbstractServer | None = None
        self.live: set[SMTP] = set()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.connections = 0
            self.active = 0
            self.peak = 0
        self.rcpts: list[str] = []
        self.mail_froms: list[str] = []
        self.helo_names: list[str] = []
        self.tls_rcpts = 0
        self.data_commands = 0
        self.dropped = 0
        self.greylisted: set[str] = set()
        self.blocked = False  # block_after was reached: every greeting and RCPT is refused
        self.quits = 0  # QUIT commands received
        self.delayed = 0  # replies delayed (Postfix's error sleep, or the tarpit)
        self.hangups = 0  # sessions ended with "421 too many errors"
        self.session_rcpts: Counter[int] = Counter()
        self.transaction_refusals: Counter[int] = Counter()  # refused RCPT TO since the session's last MAIL FROM
        self.rcpts_per_read: list[int] = []  # RCPT TO commands in each read that held any

    def opened(self, protocol: SMTP) -> None:
        with self._lock:
            self.live.add(protocol)
            self.connections += 1
            self.active += 1
            self.peak = max(self.peak, self.active)

    def closed(self, protocol: SMTP) -> None:
        with self._lock:
            self.live.discard(protocol)
            self.active -= 1

    def factory(self) -> SMTP:
        return _CountingSMTP(self, hostname=f"mx.{self.ip}", tls_context=self.tls, timeout=30, enable_SMTPUTF8=True)


class SmtpServers:
    """Starts scripted servers on 127.0.x.y, one shared port, in a thread of its own."""

    def __init__(self) -> None:
        self._rng = random.Random()
        self.port = 0
        self.servers: list[ScriptedServer] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="smtp-servers", daemon=True)

    def __enter__(self) -> SmtpServers:
        with socket.socket() as probe:  # a port free here is almost surely free on 127.x.y.z too
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def free_ip(self) -> str:
        """A loopback address where nothing listens on our port (connections are refused)."""
        return f"127.254.{self._rng.randrange(0, 250)}.{self._rng.randrange(1, 250)}"

    def start(self, script: Script | None = None, tls: ssl.SSLContext | None = None) -> ScriptedServer:
        """A new server on a fresh loopback address; it keeps running until ``stop_all``."""
        for _ in range(50):
            ip = f"127.{self._rng.randrange(1, 250)}.{self._rng.randrange(0, 250)}.{self._rng.randrange(1, 250)}"
            server = ScriptedServer(ip, self.port, script or Script(), tls)
            try:
                self._run(self._listen(server))
            except OSError:
                continue  # address and port taken (another run on this machine): try elsewhere
            self.servers.append(server)
            return server
        raise RuntimeError("no free loopback address for an SMTP server")

    def stop_all(self) -> None:
        for server in self.servers:
            self._run(self._close(server))
        self.servers.clear()

    async def _listen(self, server: ScriptedServer) -> None:
        server._server = await self._loop.create_server(server.factory, server.ip, self.port)

    @staticmethod
    async def _close(server: ScriptedServer) -> None:
        if server._server is not None:
            server._server.close()
        for protocol in list(server.live):
            if protocol.transport is not None:
                protocol.transport.abort()

    def _run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)
