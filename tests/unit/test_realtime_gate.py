"""The runner yields to real-time validations between slices, but never waits forever."""

from __future__ import annotations

import asyncio
import time

from validator.jobs import REALTIME_WAIT_MAX, RealtimeGate


async def test_pause_waits_for_realtime_requests_to_end():
    gate = RealtimeGate()
    order = []

    async def request() -> None:
        with gate.serving():
            await asyncio.sleep(0.01)
            order.append("request done")

    task = asyncio.create_task(request())
    await asyncio.sleep(0)  # the request is in flight
    await gate.pause()
    order.append("slice")
    await task
    assert order == ["request done", "slice"]


async def test_pause_gives_up_after_the_wait_limit_so_jobs_still_move():
    gate = RealtimeGate()
    with gate.serving():  # a request that outlasts the limit
        began = time.perf_counter()
        await gate.pause()
        waited = time.perf_counter() - began
    assert REALTIME_WAIT_MAX * 0.9 <= waited < REALTIME_WAIT_MAX * 4
    assert gate.busy == 0
