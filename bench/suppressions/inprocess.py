"""The in-process parts: the service's own Checker (built by ``create_app``) on the full SQLite table,
Checkers on the other stores and one with ``store=None``, checked for sane answers, then timed by
``check_cost`` (the check's cost) and here (the pieces of one 1,000-address lookup request).

No server runs here; the DNS fixture answers the MX lookups, cached before anything is timed.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import orjson

from validator.checker import Checker
from validator.metrics import Metrics
from validator.model import Address
from validator.store import Store, open_store
from validator.suppressions.keys import address_key, domain_key, matching_entry
from validator.syntax import parse_address
from validator.wire.validation import suppression_json

from .. import http as http_bench
from ..dnsfixture import DnsProcess, varied_address
from ..report import Table, median
from ..service import bench_settings, service_checker
from .check_cost import INPROC_OFFSET, check_costs
from .harness import Context
from .seeding import BATCH, DOMAINS, stored_address


async def inprocess(
    ctx: Context, dns: DnsProcess, urls: dict[str, str], bodies: list[list[str]], parts: set[str]
) -> tuple[list[Table], list[list[str]]]:
    calls, repeats = (2_000, 7) if ctx.quick else (5_000, 21)
    opened: list[Store] = []
    async with service_checker(dns.host, dns.port, urls["sqlite-full"]) as (checker, resolver, store):
        for first in range(0, DOMAINS, http_bench.WARM_SLICE):
            await checker.check_many([f"warm@d{i}.com" for i in range(first, first + http_bench.WARM_SLICE)])
        settings = bench_settings(dns.host, dns.port, str(ctx.databases.workdir), urls["sqlite-full"])
        checkers: dict[str, Checker] = {"store=None (no check)": Checker(settings, resolver, None, Metrics())}
        stores: dict[str, Store] = {}
        for key, label in (
            ("sqlite-full", f"SQLite, {ctx.rows:,} rows"),
            ("sqlite-empty", "SQLite, empty table"),
            ("postgres-full", f"PostgreSQL, {ctx.rows:,} rows"),
            ("postgres-empty", "PostgreSQL, empty table"),
        ):
            if key == "sqlite-full":
                checkers[f"{label} (the service's own Checker)"] = checker
                stores[label] = store
            elif key in urls:
                opened.append(await open_store(urls[key]))
                stores[label] = opened[-1]
                checkers[label] = Checker(settings, resolver, opened[-1], Metrics())
        try:
            await _sanity(checkers, ctx.rows)
            misses = resolver.stats.cache_misses
            tables, summary = [], []
            if "validate" in parts:
                t, s = await check_costs(ctx, checkers, checker, store, calls, repeats)
                tables.append(t)
                summary += s
            if "lookup" in parts:
                tables.append(await lookup_breakdown(ctx, stores, bodies, min(repeats, 7)))
            if resolver.stats.cache_misses != misses:
                raise RuntimeError("a timed check missed the MX cache")
        finally:
            for extra in opened:
                await extra.close()
    return tables, summary


async def _sanity(checkers: dict[str, Checker], rows: int) -> None:
    for label, checker in checkers.items():
        miss = await checker.check(varied_address(INPROC_OFFSET - 1, DOMAINS))
        if miss.status.value != "deliverable":
            raise RuntimeError(f"in process, {label}: an unsuppressed address is {miss.status.value}")
        if "store=None" not in label and "empty" not in label:
            hit = await checker.check(stored_address(3))
            if hit.status.value != "undeliverable" or hit.suppression is None:
                raise RuntimeError(f"in process, {label}: a stored address is {hit.status.value}")


async def lookup_breakdown(ctx: Context, stores: dict[str, Store], bodies: list[list[str]], repeats: int) -> Table:
    """Where one 1,000-address lookup request's time goes, piece by piece, in this process."""
    sample = bodies[: min(len(bodies), 20)]
    parsed = [[parse_address(e, allow_reserved=True) for e in emails] for emails in sample]
    keys = [
        (
            [address_key(p) for p in ps if isinstance(p, Address)],
            list({domain_key(p) for p in ps if isinstance(p, Address)}),
        )
        for ps in parsed
    ]
    full = next(s for label, s in stores.items() if label.startswith("SQLite") and "empty" not in label)
    found = [await full.find_suppressions(a, d) for a, d in keys]

    def parse(i: int) -> None:
        [parse_address(e, allow_reserved=True) for e in sample[i]]

    def render(i: int) -> None:  # the handler's answer, rebuilt the way the route builds it
        results = []
        for email, p in zip(sample[i], parsed[i], strict=False):
            entry = matching_entry(p, found[i]) if isinstance(p, Address) else None
            results.append(
                {
                    "email": email,
                    "valid": isinstance(p, Address),
                    "suppressed": entry is not None,
                    "reason": entry.reason.value if entry is not None else None,
                    "entry": suppression_json(entry) if entry is not None else None,
                }
            )
        orjson.dumps({"count": len(results), "results": results})

    def decode(i: int) -> None:
        orjson.loads(ctx.lookup_payloads[i] if ctx.lookup_payloads else orjson.dumps({"emails": sample[i]}))

    def finder(store: Store) -> Callable[[int], Awaitable[object]]:
        return lambda i: store.find_suppressions(*keys[i])

    steps: dict[str, Callable[[int], Awaitable[object] | None]] = {
        "orjson.loads of the request body": decode,
        "parse_address x 1,000": parse,
    }
    for label, store in stores.items():
        steps[f"store.find_suppressions(1,000 addresses, their domains), {label}"] = finder(store)
    steps["answer: results + orjson.dumps (100 entries)"] = render
    timings = await _time_steps(steps, len(sample), repeats)
    table = Table(
        f"In process: the pieces of one {BATCH:,}-address lookup request, ms (median of {repeats})",
        ["Step", "ms/request", "µs/address"],
    )
    for name, values in timings.items():
        table.rows.append([name, f"{median(values):.2f}", f"{median(values) / BATCH * 1000:.2f}"])
    table.notes.append(
        "compare with the server CPU per request of the lookup table: the rest is aiohttp, "
        "auth and the request's own overhead"
    )
    return table


async def _time_steps(
    steps: dict[str, Callable[[int], Awaitable[object] | None]], count: int, repeats: int
) -> dict[str, list[float]]:
    """ms per call of each step over requests ``0..count-1``, ``repeats`` times, steps in turn."""
    timings: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(repeats):
        for name, fn in steps.items():
            began = time.perf_counter()
            for i in range(count):
                result = fn(i)
                if result is not None:
                    await result
            timings[name].append((time.perf_counter() - began) / count * 1000)
    return timings
