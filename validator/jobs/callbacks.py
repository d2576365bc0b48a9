"""The completion callback of a job: a signed JSON POST to the submitter's URL.

An I/O adapter (aiohttp's client); the signature and the target rules are pure and live in
``callback_guard.py``. The guard runs twice: on the URL as the client parses it, then on every
address a socket is about to connect to (aiohttp's ``socket_factory`` hook sees the address
``connect()`` will be given, whether it came from DNS or from an IP literal the client never
resolves). So a name that resolves to 127.0.0.1 or 10.x is refused at the moment of sending,
an address spelt ``2130706433`` is refused because it is not a plain address, and a redirect
is never followed.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import logging
import socket
import time
from typing import Any

import aiohttp
import orjson
from aiohttp.abc import AbstractResolver
from aiohttp.resolver import ThreadedResolver
from yarl import URL

from validator.errors import InvalidField
from validator.jobs.callback_guard import callback_target_refusal, parse_callback_url, sign
from validator.jobs.model import Job
from validator.store.protocols import JobStore
from validator.store.records import utc_now
from validator.wire import jobs as jw

log = logging.getLogger("validator.jobs.runner")
TIMEOUT_SECONDS = 10.0
RETRY_DELAYS = (1.0, 5.0)  # seconds before the second and third attempt


def guarded_socket(host: str, allow: tuple[str, ...], addr_info: tuple[Any, ...]) -> socket.socket:
    """A socket for ``addr_info``, or ``OSError`` when its address may not be reached."""
    family, kind, proto, _, address = addr_info
    why = callback_target_refusal(host, str(address[0]), allow)
    if why is not None:
        raise OSError(errno.EACCES, f"refused: {why}")  # strerror is what aiohttp's error shows
    return socket.socket(family, kind, proto)


def guarded_connector(
    host: str, allow: tuple[str, ...], resolver: AbstractResolver | None = None
) -> aiohttp.TCPConnector:
    """A connector whose every socket passes ``guarded_socket`` for ``host`` (the URL's host)."""
    return aiohttp.TCPConnector(
        resolver=resolver or ThreadedResolver(),  # the system's: /etc/hosts included
        socket_factory=functools.partial(guarded_socket, host, allow),
    )


class CallbackSender:
    """Posts signed summaries; each ``send`` tries three times, then reports the last failure.

    ``resolver``: the system's (``getaddrinfo``) unless one is given (tests point it at a DNS
    server on 127.0.0.1)."""

    def __init__(
        self,
        secret: str,
        allow: tuple[str, ...],
        delays: tuple[float, ...] = RETRY_DELAYS,
        resolver: AbstractResolver | None = None,
    ) -> None:
        self._secret, self._allow, self._delays, self._resolver = secret, allow, delays, resolver

    async def send(self, url: str, body: bytes) -> str:
        """How it went, for the job record: ``sent 200`` or ``failed: ...``."""
        try:
            target = parse_callback_url(url, self._allow)
        except InvalidField as exc:
            return f"failed: {exc.message}"
        outcome = "failed"
        for delay in (0.0, *self._delays):
            await asyncio.sleep(delay)
            outcome = await self._attempt(target, body)
            if outcome.startswith("sent"):
                break
        return outcome

    async def _attempt(self, url: URL, body: bytes) -> str:
        headers: dict[str, Any] = {"Content-Type": "application/json", "User-Agent": "validator-jobs"}
        if self._secret:
            headers["X-Validator-Signature"] = sign(self._secret, int(time.time()), body)
        connector = guarded_connector(url.raw_host or "", self._allow, self._resolver)
        try:
            async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(TIMEOUT_SECONDS)) as s:
                async with s.post(url, data=body, headers=headers, allow_redirects=False) as response:
                    return f"sent {response.status}" if response.status < 300 else f"failed: HTTP {response.status}"
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            log.warning("job callback to %s failed: %s", url.raw_host, exc)
            return f"failed: {type(exc).__name__}: {exc}"


async def notify_finished(store: JobStore, sender: CallbackSender, job: Job) -> None:
    """POST the signed summary of a completed job to its ``callback_url`` and record how it went."""
    if job.options.callback_url is None:
        return
    body = orjson.dumps({"event": "job.completed", "job": jw.job_json(job, utc_now())})
    await store.record_callback(job.id, await sender.send(job.options.callback_url, body))
