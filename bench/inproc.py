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
import dataclasses
import time
from collections.abc import Callable

import orjson
from email_validator import validate_email

from validator.api.wire import verdict_json
from validator.checker import Checker
from validator.config import Settings
from validator.model import Address
from validator.mx import MxResolver
from validator.signals import assess_signals
from validator.syntax import parse_address

from .dnsfixture import DnsProcess, varied_address
from .report import Outcome, Table, median, met, progress, times

DOMAINS = 1000
GOAL = 1.5


def run(calls: int, repeats: int) -> Outcome:
    with DnsProcess(DOMAINS) as dns:
        return asyncio.run(_measure(dns, calls, repeats))


async def _measure(dns: DnsProcess, calls: int, repeats: int) -> Outcome:
    settings = dataclasses.replace(Settings(), dns_nameservers=((dns.host, dns.port),))
    resolver = MxResolver(settings)
    try:
        checker = Checker(settings, resolver)
        warm = await checker.check_many([f"warm@d{i}.com" for i in range(DOMAINS)], timeout_ms=30000)
        if {v.status.value for v in warm} != {"deliverable"}:
            raise RuntimeError(f"warm-up verdicts are {sorted({v.status.value for v in warm})}")
        misses = resolver.stats.cache_misses
        timings = await _interleaved(checker, calls, repeats)
        if resolver.stats.cache_misses != misses:
            raise RuntimeError("a timed check missed the MX cache")
    finally:
        await resolver.close()
    return _outcome(timings, calls, repeats)


async def _interleaved(checker: Checker, calls: int, repeats: int) -> dict[str, list[float]]:
    """µs per call for each subject, one repetition of each in turn."""
    verdict = await checker.check(varied_address(0, DOMAINS))
    address = verdict.syntax
    assert isinstance(address, Address)
    sync: dict[str, Callable[[str], object]] = {
        "validate_email": lambda a: validate_email(a, check_deliverability=False),
        "syntax.parse_address": parse_address,
        "signals.assess_signals": lambda a: assess_signals(address),
        "wire.verdict_json + orjson.dumps": lambda a: orjson.dumps(verdict_json(verdict)),
    }
    timings: dict[str, list[float]] = {name: [] for name in ["Checker.check", *sync]}
    for r in range(repeats):
        progress(f"inproc: repetition {r + 1}/{repeats}")
        emails = [varied_address(n, DOMAINS) for n in range((r + 1) * calls * 10, (r + 1) * calls * 10 + calls)]
        for name, call in sync.items():
            fresh = [e.replace("user", "u" + name[:1]) for e in emails]  # no subject sees another's addresses
            began = time.perf_counter()
            for email in fresh:
                call(email)
            timings[name].append((time.perf_counter() - began) / calls * 1e6)
        check = checker.check
        began = time.perf_counter()
        for email in emails:
            await check(email)
        timings["Checker.check"].append((time.perf_counter() - began) / calls * 1e6)
    return timings


def _outcome(timings: dict[str, list[float]], calls: int, repeats: int) -> Outcome:
    reference = median(timings["validate_email"])
    table = Table(
        f"In process: µs per call, {calls:,} varied addresses x {repeats} repetitions (medians)",
        ["Call", "µs/call", "Range", "vs validate_email"],
    )
    for name, values in timings.items():
        table.rows.append([name, f"{median(values):.1f}", f"{min(values):.1f}-{max(values):.1f}",
                           times(median(values) / reference)])
    table.notes += [
        "Checker.check: syntax + signals + cached MX + decide, awaited in a tight loop in one coroutine",
        "validate_email: check_deliverability=False; the breakdown rows are the pieces of check and the JSON "
        "rendering the HTTP handler adds (informational)",
    ]
    ours = median(timings["Checker.check"])
    ratio = ours / reference
    return Outcome([table], [[
        "In process: Checker.check (cached MX) vs validate_email", f"{ours:.1f} µs", f"{reference:.1f} µs",
        times(ratio), f"<= {GOAL:g}x", met(ratio <= GOAL),
    ]])
