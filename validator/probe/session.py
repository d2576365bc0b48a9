"""One SMTP client session over asyncio streams: the only module that touches SMTP sockets and ssl.

Lives here: connecting (after the network guard has passed the IP), the greeting, EHLO with
HELO fallback, opportunistic STARTTLS, sending one command line and reading its reply into a
``smtp_reply.Reply``. Every socket, ssl and stream exception becomes a ``SessionError``
subclass here, so ``prober.py`` and ``outcomes.py`` reason about outcomes, not exceptions.

Must not live here: what a reply means (``smtp_reply.classify_reply``), which commands a probe
sends (``transaction.py``), pooling and limits (``pool.py``, ``limits.py``). This client never
sends DATA: it has no way to.

A small client of our own rather than aiosmtplib: a probe needs six commands, its own
deadline around all of them, and several RCPT TO per transaction; the library's one-command
round trips and exception tree would be wrapped more than used.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import Iterable

from validator.netguard import IpNetwork, refusal
from validator.smtp_reply import Reply, parse_reply

_MAX_LINE = 4096  # RFC 5321 §4.5.3.1.5 says 512 octets a reply line; tolerate more, not without bound
_MAX_LINES = 100  # a longer multi-line reply is a misbehaving server
_COMMAND_OCTETS = 512  # RFC 5321 §4.5.3.1.4: a command line, CRLF included


class SessionError(Exception):
    """The session failed; ``detail`` says how (for ``checks.smtp.detail``)."""

    def __init__(self, detail: str, reply: Reply | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.reply = reply


class NotAllowed(SessionError):
    """The network guard refused the address: no socket was opened."""


class ConnectFailed(SessionError):
    """No TCP connection (refused, unreachable, or not within the connect timeout)."""


class Refused(SessionError):
    """The server answered the greeting, EHLO/HELO or STARTTLS with a refusal (``reply`` holds it)."""


class Dropped(SessionError):
    """The server closed the connection, or the stream broke, in the middle of the session."""


class CommandTimeout(SessionError):
    """No complete reply within the command timeout."""


class TlsFailed(SessionError):
    """The STARTTLS handshake or certificate verification failed."""


class ProtocolError(SessionError):
    """A reply that is not SMTP (no code, over-long lines, endless continuation)."""


def tls_context(verify: bool) -> ssl.SSLContext:
    """Opportunistic (any certificate, still encrypted) unless ``verify``: then CA chain and host name."""
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class SmtpSession:
    """An open, greeted session. ``extensions`` holds the EHLO keywords (upper case)."""

    def __init__(
        self, host: str, ip: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, command_timeout: float
    ) -> None:
        self.host = host
        self.ip = ip
        self.extensions: set[str] = set()
        self.tls = False
        self.recipients_sent = 0  # RCPT TO commands over the session's life
        self.refusals = 0  # 4xx/5xx replies over the session's life (what Postfix counts as errors)
        self.transaction_refusals = 0  # ... in this transaction: Sendmail counts these (its MAIL FROM resets them)
        self.ending = False  # the pool QUITs it after the current transaction
        self.open_transaction = False  # MAIL FROM was accepted and no RSET has followed yet
        # seconds, the EHLO round trip: what one command costs here. Not the greeting, which servers hold back on
        # purpose (Sendmail's greet_pause, a second on Debian; Postfix postscreen's greet wait): counted, a
        # one-second greeting made every reply up to 8 s "usual", and a throttled RCPT never looked like a tarpit
        self.handshake_latency = 0.0
        self.opening = 0.0  # seconds from connecting to ready (greeting, EHLO, STARTTLS): what a new session costs
        self.idle_since = time.monotonic()
        self._reader = reader
        self._writer = writer
        self._timeout = command_timeout

    @classmethod
    async def open(
        cls,
        host: str,
        ip: str,
        port: int,
        *,
        helo: str,
        connect_timeout: float,
        command_timeout: float,
        allowed: Iterable[IpNetwork],
        tls: ssl.SSLContext | None,
    ) -> SmtpSession:
        """Connect to ``ip`` (never a name: the guard judged this very address), greet, EHLO, STARTTLS."""
        why = refusal(ip, allowed)
        if why is not None:
            raise NotAllowed(f"{host} [{ip}]: {why}; not connected")
        started = time.monotonic()
        try:
            async with asyncio.timeout(connect_timeout):
                # AI_NUMERICHOST: an address the guard passed is never resolved again (no DNS rebinding)
                reader, writer = await asyncio.open_connection(ip, port, limit=_MAX_LINE, flags=socket.AI_NUMERICHOST)
        except TimeoutError as exc:
            raise ConnectFailed(f"{host} [{ip}]:{port}: no connection within {connect_timeout:g}s") from exc
        except OSError as exc:
            raise ConnectFailed(f"{host} [{ip}]:{port}: {exc.strerror or exc}") from exc
        session = cls(host, ip, reader, writer, command_timeout)
        try:
            greeting = await session.read_reply(connect_timeout)
            if greeting.code != 220:  # RFC 5321 §4.2: 554 "No SMTP service here", 421 busy
                raise Refused(f"{host}: greeting refused", greeting)
            began = time.monotonic()
            await session._hello(helo)
            session.handshake_latency = time.monotonic() - began
            if tls is not None and "STARTTLS" in session.extensions:
                await session._starttls(tls, helo)
        except Refused:
            # RFC 5321 §3.1: after a 554 greeting the server waits for our QUIT; after a refused EHLO
            # QUIT is still the polite end. Not waited for: the caller's answer is known already.
            session.quit()
            raise
        except BaseException:
            session.abort()
            raise
        session.opening = time.monotonic() - started
        return session

    async def _hello(self, helo: str) -> None:
        reply, lines = await self._ehlo(helo)
        if reply.code == 250:
            self.extensions = _keywords(lines)
            return
        # RFC 5321 §3.2: a server that does not know EHLO answers 500/502; the client falls back to HELO
        if reply.code is not None and reply.code // 100 == 5 and reply.code not in (550, 554):
            reply = await self.command(f"HELO {helo}")
            if reply.code == 250:
                self.extensions = set()
                return
        raise Refused(f"{self.host}: EHLO/HELO refused", reply)

    async def _starttls(self, context: ssl.SSLContext, helo: str) -> None:
        reply = await self.command("STARTTLS")
        if reply.code != 220:  # RFC 3207 §4: 454 TLS not available: go on without it
            return
        try:
            async with asyncio.timeout(self._timeout):
                await self._writer.start_tls(context, server_hostname=self.host)
        except TimeoutError as exc:
            raise TlsFailed(f"{self.host}: TLS handshake took over {self._timeout:g}s") from exc
        except (ssl.SSLError, ssl.CertificateError) as exc:
            raise TlsFailed(f"{self.host}: TLS failed: {exc.args[-1] if exc.args else exc}") from exc
        except (OSError, EOFError) as exc:
            raise Dropped(f"{self.host}: connection lost during the TLS handshake") from exc
        self.tls = True
        # RFC 3207 §4.2: forget everything learnt before TLS and say EHLO again. With TLS 1.3 the
        # server may still reject the handshake now (e.g. it wanted a client certificate).
        try:
            reply, lines = await self._ehlo(helo)
        except (Dropped, ProtocolError) as exc:
            raise TlsFailed(f"{self.host}: TLS session failed: {exc.detail}") from exc
        if reply.code != 250:
            raise Refused(f"{self.host}: EHLO after STARTTLS refused", reply)
        self.extensions = _keywords(lines)

    async def _ehlo(self, helo: str) -> tuple[Reply, list[str]]:
        self.send(f"EHLO {helo}")
        lines = await self._read_lines(self._timeout)
        return _parsed(self.host, lines), lines

    async def command(self, line: str) -> Reply:
        """Send one command line and read its whole reply."""
        self.send(line)
        return await self.read_reply(self._timeout)

    def send(self, *lines: str) -> None:
        """Write command lines in one write: a pipelined group (RFC 2920) then travels in one TCP
        segment, which the server reads whole and answers in one (sent line by line, each reply
        of Postfix's would wait out our delayed ACK: 40 ms). Defence in depth: nothing that could
        end or split a line gets out."""
        data = b"".join(self._encoded(line) for line in lines)
        if self._writer.is_closing():
            raise Dropped(f"{self.host}: connection already closed")
        self._writer.write(data)

    def _encoded(self, line: str) -> bytes:
        if any(c in line for c in "\r\n\0"):
            raise ValueError("CR, LF or NUL in an SMTP command")
        data = line.encode("utf-8" if "SMTPUTF8" in self.extensions else "ascii") + b"\r\n"
        if len(data) > _COMMAND_OCTETS:
            raise ValueError(f"SMTP command longer than {_COMMAND_OCTETS} octets")
        return data

    async def read_reply(self, timeout: float) -> Reply:
        """One reply, multi-line or not, parsed."""
        return _parsed(self.host, await self._read_lines(timeout))

    async def _read_lines(self, timeout: float) -> list[str]:
        """The lines of one reply (RFC 5321 §4.2.1: "250-..." continues, "250 ..." ends)."""
        lines: list[str] = []
        try:
            async with asyncio.timeout(timeout):
                while len(lines) < _MAX_LINES:
                    raw = await self._reader.readuntil(b"\n")
                    line = raw.decode("utf-8", "replace").rstrip("\r\n")
                    lines.append(line)
                    if len(line) < 4 or line[3] != "-":
                        break
                else:
                    raise ProtocolError(f"{self.host}: reply longer than {_MAX_LINES} lines")
        except TimeoutError as exc:
            raise CommandTimeout(f"{self.host}: no reply within {timeout:g}s", _partial(lines)) from exc
        except asyncio.IncompleteReadError as exc:
            raise Dropped(f"{self.host}: connection closed by the server", _partial(lines)) from exc
        except asyncio.LimitOverrunError as exc:
            raise ProtocolError(f"{self.host}: reply line over {_MAX_LINE} octets") from exc
        except (OSError, ssl.SSLError) as exc:
            raise Dropped(f"{self.host}: connection lost: {exc}") from exc
        self.idle_since = time.monotonic()
        return lines

    async def close(self) -> None:
        """QUIT politely (briefly), then close. Never raises."""
        try:
            if not self._writer.is_closing():
                self.send("QUIT")
                await self.read_reply(min(self._timeout, 1.0))
        except (SessionError, ValueError):
            pass
        self.abort()

    def quit(self) -> None:
        """Say QUIT without waiting for the reply, then close once it is written: for a server that
        will not answer soon (a 554 greeting, a tarpit) and a caller that must not wait for it."""
        try:
            self.send("QUIT")
        except (SessionError, ValueError):
            self.abort()
            return
        self._writer.close()

    def retire(self) -> None:
        """Leave a session now, even while a reply is outstanding: QUIT when RFC 2920 pipelining
        lets QUIT follow the command still waiting for its reply (§3.1), otherwise close at once."""
        if "PIPELINING" in self.extensions:
            self.quit()
        else:
            self.abort()

    def abort(self) -> None:
        """Close the transport now (a session in an unknown state must never be reused)."""
        transport = self._writer.transport
        if not transport.is_closing():
            transport.abort()

    @property
    def usable(self) -> bool:
        return not self._writer.is_closing() and not self._reader.at_eof()


def _parsed(host: str, lines: list[str]) -> Reply:
    reply = parse_reply("\n".join(lines))
    if reply.code is None:
        raise ProtocolError(f"{host}: not an SMTP reply: {lines[0][:80]!r}")
    return reply


def _keywords(lines: list[str]) -> set[str]:
    """EHLO keywords: the first word after the code on every line but the greeting (RFC 5321 §4.1.1.1)."""
    return {words[0].upper() for line in lines[1:] if (words := line[4:].split())}


def _partial(lines: list[str]) -> Reply | None:
    return parse_reply("\n".join(lines)) if lines else None
