"""Real-time first: ``PrioritySlots`` (a semaphore with two lanes, the bulk lane capped) and
``RealtimeGate`` (bulk work waits while real-time validations are in flight).

Lives here because the resolver's one budget of DNS queries in flight (``dns_max_inflight``)
is shared by real-time validations and bulk jobs: with a plain ``asyncio.Semaphore`` a job's
slice of a hundred cold domains queued ahead of a ``/v1/validate`` lookup, which then waited
for the job's queries. Here a bulk holder never takes more than ``bulk_max`` slots (the rest
are kept for real-time lookups), and a freed slot goes to a waiting real-time lookup before
any bulk one. Pure asyncio: no sockets, no DNS.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator

REALTIME_WAIT_MAX = 0.05  # seconds a slice waits for real-time requests to end (then it goes on: no starvation)


class PrioritySlots:
    """At most ``total`` holders at once, of which at most ``bulk_max`` bulk ones."""

    def __init__(self, total: int, bulk_max: int) -> None:
        self.total, self.bulk_max = total, max(1, min(bulk_max, total))
        self.held = self.bulk_held = 0
        self._waiting: dict[bool, deque[asyncio.Future[None]]] = {False: deque(), True: deque()}

    def _free_for(self, bulk: bool) -> bool:
        if self.held >= self.total:
            return False
        return not bulk or (self.bulk_held < self.bulk_max and not self._waiting[False])

    @contextlib.asynccontextmanager
    async def slot(self, *, bulk: bool = False) -> AsyncIterator[None]:
        """Hold one slot for the ``async with`` block; ``bulk`` waits behind every real-time waiter."""
        if self._waiting[bulk] or not self._free_for(bulk):
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiting[bulk].append(waiter)
            try:
                await waiter  # resolved by _hand_over, which already counted this holder
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():  # handed a slot just as it was cancelled
                    self._release(bulk)
                else:
                    self._waiting[bulk].remove(waiter)
                raise
        else:
            self._take(bulk)
        try:
            yield
        finally:
            self._release(bulk)

    def _take(self, bulk: bool) -> None:
        self.held += 1
        self.bulk_held += bulk

    def _release(self, bulk: bool) -> None:
        self.held -= 1
        self.bulk_held -= bulk
        self._hand_over()

    def _hand_over(self) -> None:
        for bulk in (False, True):  # real-time waiters first
            queue = self._waiting[bulk]
            while queue and self._free_for(bulk):
                waiter = queue.popleft()
                if not waiter.done():
                    self._take(bulk)
                    waiter.set_result(None)


class RealtimeGate:
    """Real-time validations in flight. Between slices the runner waits until there are none
    (up to ``REALTIME_WAIT_MAX``), so a job uses the event loop's idle time first."""

    def __init__(self) -> None:
        self.busy = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def serving(self) -> RealtimeGate:
        """``with gate.serving():`` around one real-time validation. The gate is its own context
        manager: a ``contextlib.contextmanager`` generator cost 1 µs a request, this 0.3 µs."""
        return self

    def __enter__(self) -> None:
        self.busy += 1
        self._idle.clear()

    def __exit__(self, *exc: object) -> None:
        self.busy -= 1
        if not self.busy:
            self._idle.set()

    async def pause(self) -> None:
        if not self.busy:
            await asyncio.sleep(0)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), REALTIME_WAIT_MAX)
