"""The runner yields to real-time validations between slices of bounded CPU, but never waits forever."""

from __future__ import annotations

import asyncio
import time

from validator.checker import Checker
from validator.config import Settings
from validator.jobs.answer import SlicePacer, answer_rows
from validator.jobs.model import InputRow
from validator.priority import REALTIME_WAIT_MAX, RealtimeGate


async def test_pause_waits_for_realtime_requests_to_end():
    gate, release = RealtimeGate(), asyncio.Event()
    order = []

    async def request() -> None:
        with gate.serving():
            await release.wait()
            order.append("request done")

    async def slice_() -> None:
        await gate.pause()
        order.append("slice")

    task = asyncio.create_task(request())
    await asyncio.sleep(0)  # the request is in flight
    paused = asyncio.create_task(slice_())
    await asyncio.sleep(0)  # the runner waits at the gate
    release.set()  # no timing involved: the request ends while the slice waits
    await asyncio.gather(task, paused)
    assert order == ["request done", "slice"]


async def test_pause_gives_up_after_the_wait_limit_so_jobs_still_move():
    gate = RealtimeGate()
    with gate.serving():  # a request that outlasts the limit
        began = time.perf_counter()
        await gate.pause()
        waited = time.perf_counter() - began
    assert REALTIME_WAIT_MAX * 0.9 <= waited < 2.0  # it gave up (generous bound: CI machines are loaded)
    assert gate.busy == 0


class _CpuChecker:
    """Checks cost CPU (not wall time: the pacer measures this thread's CPU, steady under load)."""

    def __init__(self, per_row: float) -> None:
        self.per_row, self.slices = per_row, []

    async def resolve_domains(self, domains, timeout_ms=None, bulk=False):
        assert bulk  # ahead of the slices, in the resolver's bulk lane too
        return {}  # no DNS here: the checks below cost CPU only

    async def check_many(self, emails, timeout_ms=None, smtp=False, bulk=False, known=None):
        self.slices.append(len(emails))
        assert bulk  # a job's lookups go to the resolver's bulk lane
        began = time.thread_time()
        while time.thread_time() - began < self.per_row * len(emails):
            pass
        checker = Checker(Settings(), _NoDns())
        return [checker._finish(email, checker._parse(email), None, None, 0.0) for email in emails]


class _NoDns:
    def cached(self, domain):
        return None

    async def lookup(self, domain, bulk=False):
        raise AssertionError("not asked")


async def test_slices_shrink_to_the_cpu_budget_and_a_validation_runs_before_the_next_one():
    # 0.5 ms of CPU per row: a slice of 100 would hold the loop 50 ms; the pacer allows 2 ms
    checker, events = _CpuChecker(0.0005), []
    rows = [InputRow(n, f"user{n}@example.invalid") for n in range(1, 41)]

    async def pause() -> None:
        events.append("pause")
        await asyncio.sleep(0)

    async def validation() -> None:
        events.append("validation")

    async def arrive_mid_chunk() -> None:
        while len(checker.slices) < 3:
            await asyncio.sleep(0)
        events.append("arrived")
        await validation()

    arrival = asyncio.create_task(arrive_mid_chunk())
    answer = await answer_rows(
        checker,
        rows,
        lambda row, verdict: b"x\n",
        slice_size=100,
        timeout_ms=1000,
        pause=pause,
        pacer=SlicePacer(100, 0.002),
    )
    await arrival
    assert len(answer.lines) == 40
    assert max(checker.slices[1:]) <= 8  # 4 rows fit the budget; twice that allows for a noisy measurement
    # the validation waited for at most the slice under way: between two pauses, not after the chunk
    assert events.index("validation") < len(events) - 2
    assert events[events.index("arrived") - 1] == "pause"
