"""The completion callback of a job: a signed JSON POST to the submitter's URL.

An I/O adapter (aiohttp's client). Signature: ``X-Validator-Signature: t=<unix time>,
v1=<hex HMAC-SHA256 of "<t>." + body>`` with ``VALIDATOR_JOB_CALLBACK_SECRET`` (the scheme
Stripe and others use: the time inside the MAC stops replays of old summaries).

Server-side request forgery guard: a callback may reach only globally routable addresses,
unless the host or its network is listed in ``VALIDATOR_JOB_CALLBACK_ALLOW``. The check runs
on the addresses the connection will use (a resolver that refuses the others), so a name that
resolves to 127.0.0.1 or 10.x is refused too, at the moment of sending.
NOTE for the merge: ``callback_target_refusal`` duplicates the network guard the SMTP prober
brings (``validator/netguard.py``); the lead replaces it by that module.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import logging
import socket
import time
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from .errors import InvalidField

log = logging.getLogger("validator.jobs")
TIMEOUT_SECONDS = 10.0
RETRY_DELAYS = (1.0, 5.0)  # seconds before the second and third attempt


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def _allowed(host: str, address: str | None, allow: tuple[str, ...]) -> bool:
    if host.lower() in allow:
        return True
    if address is None:
        return False
    ip = ipaddress.ip_address(address)
    return ip.is_global or any(ip in ipaddress.ip_network(item, strict=False) for item in allow if _is_network(item))


def _is_network(item: str) -> bool:
    try:
        ipaddress.ip_network(item, strict=False)
    except ValueError:
        return False
    return True


def callback_target_refusal(host: str, address: str | None, allow: tuple[str, ...]) -> str | None:
    """Why a callback may not go to ``host`` at ``address`` (None: it may). Pure."""
    if _allowed(host, address, allow):
        return None
    return f"{host} ({address}) is not a public address" if address else f"{host} is not a public host"


def check_callback_url(url: str, allow: tuple[str, ...]) -> str:
    """The URL if it may be a callback target as far as can be told before resolving it."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000:
        raise InvalidField("must be an http(s) URL", field="callback_url")
    host = parts.hostname
    try:
        literal: str | None = str(ipaddress.ip_address(host))
    except ValueError:
        literal = None
        if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
            if host not in allow:
                raise InvalidField(f"{host} is not a public host", field="callback_url") from None
    if literal is not None and (reason := callback_target_refusal(host, literal, allow)):
        raise InvalidField(reason, field="callback_url")
    return url


class _GuardedResolver(AbstractResolver):
    """The system resolver, refusing addresses a callback may not reach."""

    def __init__(self, allow: tuple[str, ...]) -> None:
        self._inner, self._allow = ThreadedResolver(), allow

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
                      ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        kept = [r for r in results if callback_target_refusal(host, r["host"], self._allow) is None]
        if not kept:
            raise OSError(f"{host} resolves to no public address")
        return kept

    async def close(self) -> None:
        await self._inner.close()


class CallbackSender:
    """Posts signed summaries; each ``send`` tries three times, then reports the last failure."""

    def __init__(self, secret: str, allow: tuple[str, ...], delays: tuple[float, ...] = RETRY_DELAYS) -> None:
        self._secret, self._allow, self._delays = secret, allow, delays

    async def send(self, url: str, body: bytes) -> str:
        """How it went, for the job record: ``sent 200`` or ``failed: ...``."""
        try:
            check_callback_url(url, self._allow)
        except InvalidField as exc:
            return f"failed: {exc.message}"
        outcome = "failed"
        for delay in (0.0, *self._delays):
            await asyncio.sleep(delay)
            outcome = await self._attempt(url, body)
            if outcome.startswith("sent"):
                break
        return outcome

    async def _attempt(self, url: str, body: bytes) -> str:
        headers: dict[str, Any] = {"Content-Type": "application/json", "User-Agent": "validator-jobs"}
        if self._secret:
            headers["X-Validator-Signature"] = sign(self._secret, int(time.time()), body)
        connector = aiohttp.TCPConnector(resolver=_GuardedResolver(self._allow))
        try:
            async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(TIMEOUT_SECONDS)) as s:
                async with s.post(url, data=body, headers=headers, allow_redirects=False) as response:
                    return f"sent {response.status}" if response.status < 300 else f"failed: HTTP {response.status}"
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            log.warning("job callback to %s failed: %s", urlsplit(url).hostname, exc)
            return f"failed: {type(exc).__name__}: {exc}"
