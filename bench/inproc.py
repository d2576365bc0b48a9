"""Benchmark 2: one ``Checker.check()`` with the MX answer cached vs ``validate_email`` alone.

Both run in one event loop in this process, over the same kind of varied addresses
(``user<N>@d<N % 1000>.com``, a new local part every call, never repeated across
repetitions). ``check`` is awaited in a tight loop inside one coroutine: with the answer
cached it never suspends, so the figure is the call itself (coroutine creation included,
loop scheduling excluded). ``validate_email(..., check_deliverability=False)`` is called in
the same kind of loop. The garbage collector stays on, as in the server. Repetitions
interleave and the medians are compared.

The breakdown rows time the pure steps ``check`` is made of, and the JSON rendering the
HTTP handler adds, to show where the time goes; they are informational.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import orjson
from email_validator import validate_email

from validator.checker import Checker
from validator.model import Address
from validator.signals.risk import assess_signals
from validator.store import Store
from validator.syntax import parse_address
from validator.wire.validation import verdict_json

from .dnsfixture import DnsProcess, varied_address
from .report import Outcome, Table, median, met, progress, times
from .service import service_checker

DOMAINS = 1000
WARM_SLICE = 100  # domains looked up at once while warming: a burst of 1,000 outruns the test server
GOAL = 1.5


def run(calls: int, repeats: int) -> Outcome:
    with DnsProcess(DOMAINS) as dns:
        return asyncio.run(_measure(dns, calls, repeats))


async def _measure(dns: DnsProcess, calls: int, repeats: int) -> Outcome:
    async with service_checker(dns.host, dns.port) as (checker, resolver, store):
        statuses = set()
        for first in range(0, DOMAINS, WARM_SLICE):
            warm = await checker.check_many([f"warm@d{i}.com" for i in range(first, first + WARM_SLICE)])
            statuses |= {v.status.value for v in warm}
        if statuses != {"deliverable"}:
            raise RuntimeError(f"warm-up verdicts are {sorted(statuses)}")
        misses = resolver.stats.cache_misses
        yields = suspensions(checker.check(varied_address(1, DOMAINS)))
        timings = await _interleaved(checker, store, calls, repeats)
        if resolver.stats.cache_misses != misses:
            raise RuntimeError("a timed check missed the MX cache")
    return _outcome(timings, calls, repeats, yields)


def suspensions(coroutine: Coroutine[Any, Any, object]) -> int | None:
    """How often ``coroutine`` yields to the event loop before it finishes: driven by hand, so a
    bare yield (``asyncio.sleep(0)``) is counted; None if it waits for a future (real I/O)."""
    count = 0
    try:
        while True:
            if coroutine.send(None) is not None:
                coroutine.close()
                return None
            count += 1
    except StopIteration:
        return count


async def _interleaved(checker: Checker, store: Store, calls: int, repeats: int) -> dict[str, list[float]]:
    """µs per call for each subject, one repetition of each in turn; no subject sees another's addresses."""
    verdict = await checker.check(varied_address(0, DOMAINS))
    address = verdict.syntax
    assert isinstance(address, Address)
    pure: dict[str, Callable[[str], object]] = {
        "validate_email": lambda a: validate_email(a, check_deliverability=False),
        "syntax.parse_address": parse_address,
        "signals.assess_signals": lambda a: assess_signals(address),
        "wire.verdict_json + orjson.dumps": lambda a: orjson.dumps(verdict_json(verdict)),
    }
    awaited: dict[str, Callable[[str], Awaitable[object]]] = {
        "Checker.check": checker.check,
        "store.find_suppressions": lambda a: store.find_suppressions([a.lower()], [a.partition("@")[2]]),
    }
    timings: dict[str, list[float]] = {name: [] for name in [*awaited, *pure]}
    for r in range(repeats):
        progress(f"inproc: repetition {r + 1}/{repeats}")
        for i, name in enumerate(timings):
            first = ((r * len(timings)) + i + 1) * calls
            emails = [varied_address(n, DOMAINS) for n in range(first, first + calls)]
            began = time.perf_counter()
            if name in pure:
                call = pure[name]
                for email in emails:
                    call(email)
            else:
                call_async = awaited[name]
                for email in emails:
                    await call_async(email)
            timings[name].append((time.perf_counter() - began) / calls * 1e6)
    return timings


def _outcome(timings: dict[str, list[float]], calls: int, repeats: int, yields: int | None) -> Outcome:
    reference = median(timings["validate_email"])
    table = Table(
        f"In process: µs per call, {calls:,} varied addresses x {repeats} repetitions (medians)",
        ["Call", "µs/call", "Range", "vs validate_email"],
    )
    for name, values in timings.items():
        table.rows.append(
            [name, f"{median(values):.1f}", f"{min(values):.1f}-{max(values):.1f}", times(median(values) / reference)]
        )
    table.notes += [
        "Checker.check: the service's own Checker (built by create_app, every adapter it injects), MX cached, "
        "awaited in a tight loop in one coroutine; a pass through the event loop is included only when check "
        "itself yields: " + ("it waits for I/O" if yields is None else f"it yields {yields} time(s) per call"),
        "validate_email: check_deliverability=False; the rows below it are pieces of check (the suppression "
        "lookup, syntax, signals) and the JSON rendering the HTTP handler adds: informational",
    ]
    ours = median(timings["Checker.check"])
    ratio = ours / reference
    return Outcome(
        [table],
        [
            [
                "In process: Checker.check (cached MX) vs validate_email",
                f"{ours:.1f} µs",
                f"{reference:.1f} µs",
                times(ratio),
                f"<= {GOAL:g}x",
                met(ratio <= GOAL),
            ]
        ],
    )
