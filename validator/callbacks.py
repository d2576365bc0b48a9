"""The completion callback of a job: a signed JSON POST to the submitter's URL.

An I/O adapter (aiohttp's client); the signature and the target rules are pure and live in
``callback_guard.py``. The guard runs on the addresses the connection will use (a resolver
that refuses the others), so a name that resolves to 127.0.0.1 or 10.x is refused too, at
the moment of sending, and never followed through a redirect.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from .callback_guard import callback_target_refusal, check_callback_url, sign
from .errors import InvalidField

log = logging.getLogger("validator.jobs")
TIMEOUT_SECONDS = 10.0
RETRY_DELAYS = (1.0, 5.0)  # seconds before the second and third attempt


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
