"""The slow-client guard: bodies still arriving are read a bounded number at a time, and one that
stops arriving is answered 408 and its connection closed.

aiohttp's server has no body-read timeout: a client that sends its headers and part of a body,
then nothing, holds its handler, its connection and everything read so far until it goes away
(300 such 1 MB uploads held 390 MB for as long as their sockets stayed open). Three rules:

- a body still arriving when its handler starts takes one of ``VALIDATOR_BODIES_IN_FLIGHT``
  slots until the handler ends (one already here, as a small JSON request's is, takes none);
  a request that finds none free within ``VALIDATOR_BODY_IDLE_TIMEOUT`` is answered 503 ``busy``.
  Meanwhile aiohttp stops reading its socket once twice ``READ_BUFFER_BYTES`` wait unread, so
  memory is bounded by the slots times the largest body, plus one socket read (asyncio reads up
  to 256 KiB at a time) per waiting connection.
- aiohttp reads a body ``READ_BUFFER_BYTES`` ahead of its handler (``read_bufsize``; 3.14's
  default of 256 KiB let each waiting upload hold 0.75 MiB: 300 of them peaked at 303 MB, now 162 MB,
  64 MB of it the slots' bodies; a 17 MiB job upload takes as long either way);
- the watch looks at a body every ``idle`` seconds; when no byte arrived during a whole period
  although the service was ready to read (the transport is not paused: a handler that stopped
  reading is not the client's fault), it fails the body with ``BodyTimeout``: the handler's next
  read raises, the middleware answers 408 and the connection is closed.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from validator.errors import BodyTimeout, Busy

READ_BUFFER_BYTES = 16 * 1024
# aiohttp's request handler settings, given to ``web.Application(handler_args=...)``
SERVER_LIMITS = {"read_bufsize": READ_BUFFER_BYTES}


class BodyWatch:
    """Watches one request's body from the handler's start until ``stop()``."""

    def __init__(self, request: web.Request, idle: float) -> None:
        self._content, self._transport, self._idle = request.content, request.transport, idle
        self._seen = self._content.total_bytes
        self._timer = asyncio.get_running_loop().call_later(idle, self._check)

    def _check(self) -> None:
        content = self._content
        if content.is_eof() or content.exception() is not None:
            return
        waiting = self._transport is not None and self._transport.is_reading()
        if waiting and content.total_bytes == self._seen:
            content.set_exception(BodyTimeout(f"no part of the request body arrived for {self._idle:g} seconds"))
            return
        self._seen = content.total_bytes
        self._timer = asyncio.get_running_loop().call_later(self._idle, self._check)

    def stop(self) -> None:
        self._timer.cancel()


class BodyGate:
    """The slots of bodies in flight and the watch over each; one per application."""

    def __init__(self, slots: int, idle: float) -> None:
        self._slots, self._idle = asyncio.Semaphore(slots), idle

    @staticmethod
    def arriving(request: web.Request) -> bool:
        """True when the request has a body not all here yet (the only ones the gate deals with)."""
        return request.body_exists and not request.content.is_eof()

    async def enter(self, request: web.Request) -> BodyWatch:
        try:
            await asyncio.wait_for(self._slots.acquire(), self._idle)
        except TimeoutError:  # aiohttp then drains the unread body for a while (lingering close), so
            raise Busy("too many request bodies in flight; retry in a few seconds") from None  # the 503 is read
        return BodyWatch(request, self._idle)

    def leave(self, watch: BodyWatch) -> None:
        watch.stop()
        self._slots.release()
