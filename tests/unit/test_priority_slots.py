"""The resolver's DNS budget: job (bulk) queries never starve real-time ones."""

from __future__ import annotations

import asyncio

from validator.checker import Checker
from validator.config import Settings
from validator.model import MxAnswer, MxOutcome
from validator.priority import PrioritySlots


async def _hold(slots: PrioritySlots, bulk: bool, order: list[str], name: str, release: asyncio.Event) -> None:
    async with slots.slot(bulk=bulk):
        order.append(name)
        await release.wait()


async def test_bulk_holders_leave_the_reserved_slots_to_realtime_lookups():
    slots, order, release = PrioritySlots(total=4, bulk_max=2), [], asyncio.Event()
    tasks = [asyncio.create_task(_hold(slots, True, order, f"job{i}", release)) for i in range(5)]
    await asyncio.sleep(0)
    assert (slots.held, slots.bulk_held) == (2, 2)  # a job's burst of five queries holds only its two
    realtime = asyncio.create_task(_hold(slots, False, order, "validate", release))
    await asyncio.sleep(0)
    assert order == ["job0", "job1", "validate"]  # answered at once, not behind job2..job4
    release.set()
    await asyncio.gather(realtime, *tasks)
    assert slots.held == slots.bulk_held == 0


async def test_a_freed_slot_goes_to_a_waiting_realtime_lookup_before_waiting_job_queries():
    slots, order, release = PrioritySlots(total=2, bulk_max=2), [], asyncio.Event()
    jobs = [asyncio.create_task(_hold(slots, True, order, f"job{i}", release)) for i in range(4)]
    await asyncio.sleep(0)
    realtime = asyncio.create_task(_hold(slots, False, order, "validate", release))
    await asyncio.sleep(0)
    assert order == ["job0", "job1"]  # every slot taken: the validation waits...
    release.set()
    await asyncio.gather(realtime, *jobs)
    assert order.index("validate") == 2  # ...but first in line, ahead of job2 and job3 queued before it


async def test_a_cancelled_waiter_gives_its_turn_back():
    slots, order, release = PrioritySlots(total=1, bulk_max=1), [], asyncio.Event()
    first = asyncio.create_task(_hold(slots, False, order, "first", release))
    await asyncio.sleep(0)
    gone = asyncio.create_task(_hold(slots, False, order, "gone", release))
    later = asyncio.create_task(_hold(slots, True, order, "later", release))
    await asyncio.sleep(0)
    gone.cancel()
    release.set()
    await asyncio.gather(first, later, gone, return_exceptions=True)
    assert order == ["first", "later"] and slots.held == 0


class _LaneRecorder:
    """An MX lookup that records which lane each domain was asked in."""

    def __init__(self) -> None:
        self.lanes: dict[str, bool] = {}

    def cached(self, domain):
        return None

    async def lookup(self, domain, bulk=False):
        self.lanes[domain] = bulk
        return MxAnswer(domain, MxOutcome.NO_SUCH_DOMAIN, ttl=0)


async def test_the_checker_sends_job_lookups_to_the_bulk_lane_and_others_to_the_realtime_one():
    resolver = _LaneRecorder()
    checker = Checker(Settings(), resolver)
    await checker.check_many(["a@job-lane.com"], bulk=True)  # a job's slice
    await checker.check_many(["b@batch-lane.com"])  # /v1/validate/batch: real-time
    await checker.check("c@single-lane.com")
    assert resolver.lanes == {"job-lane.com": True, "batch-lane.com": False, "single-lane.com": False}
