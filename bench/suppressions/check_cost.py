"""Part 2b and 2c, in process: ``Checker.check`` with the service's own store against ``Checker(settings,
resolver, store=None)`` over varied addresses, MX cached (as ``bench inproc``), the ratio paired within
each repetition; and the check's own steps timed alone (keys, ``find_suppressions``, ``matching_entry``).

The Checkers are built by ``inprocess``; this module only times them and renders the table.
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable

from validator.checker import Checker
from validator.model import Address
from validator.store import Store
from validator.suppressions.keys import address_key, domain_key, matching_entry
from validator.syntax import parse_address

from ..dnsfixture import varied_address
from ..report import Table, median, met, percent, progress, times
from .harness import Context
from .seeding import DOMAINS, address_rows, stored_address
from .validate import CHECK_GOAL

INPROC_OFFSET = 10**9  # in-process addresses: user<n>@... with n far above any stored row


async def check_costs(
    ctx: Context, checkers: dict[str, Checker], own: Checker, store: Store, calls: int, repeats: int
) -> tuple[Table, list[list[str]]]:
    """µs per ``check`` (and per piece of the check) over fresh addresses, repetitions interleaved.

    A shared machine's load comes and goes in seconds, so each subject is compared with
    ``store=None`` *within the same repetition* (they run next to each other) and the ratio
    reported is the median of those paired ratios; medians and best times are shown too.
    """
    none_label = next(iter(checkers))
    subjects: dict[str, tuple[Callable[[str], Awaitable[object]], bool, int]] = {}  # fn, stored addresses?, calls
    for label, checker in checkers.items():
        subjects[f"Checker.check, {label}"] = (checker.check, False, calls // 5 if "PostgreSQL" in label else calls)
    rows_label = f"SQLite, {ctx.rows:,} rows"

    async def check_alone(email: str) -> object:
        """What ``Checker.check`` adds for the list, with the public pieces it is made of: the keys,
        ``find_suppressions`` (address + domain) and ``matching_entry``, on a parsed address."""
        address = parsed[email]
        return matching_entry(
            address, await store.find_suppressions([address_key(address)], list({domain_key(address)}))
        )

    parsed: dict[str, Address] = {}
    alone_label = f"the check alone: keys + find_suppressions + matching_entry, {rows_label}"
    subjects[alone_label] = (check_alone, False, calls)
    subjects[f"Checker.check, {rows_label}: a suppressed address"] = (own.check, True, calls)
    stored = random.Random(11).sample(range(address_rows(ctx.rows)), min(calls * repeats, address_rows(ctx.rows)))
    timings: dict[str, list[float]] = {name: [] for name in subjects}
    names = list(subjects)
    for r in range(repeats):
        if r % max(1, repeats // 4) == 0:
            progress(f"suppressions: in process, repetition {r + 1}/{repeats}")
        for name in names if r % 2 == 0 else reversed(names):  # ABC CBA ABC: no subject always goes first
            i, (fn, hits, n) = names.index(name), subjects[name]
            if hits:
                emails = [stored_address(stored[(r * n + k) % len(stored)]) for k in range(n)]
            else:
                first = INPROC_OFFSET + ((r * len(subjects)) + i + 1) * calls
                emails = [varied_address(k, DOMAINS) for k in range(first, first + n)]
            if fn is check_alone:
                parsed.clear()
                parsed.update((e, p) for e in emails if isinstance(p := parse_address(e), Address))
            began = time.perf_counter()
            for email in emails:
                await fn(email)
            timings[name].append((time.perf_counter() - began) / n * 1e6)
    ctx.check_alone_us = median(timings[alone_label])
    return _cost_table(ctx, timings, f"Checker.check, {none_label}", calls, repeats)


def _cost_table(
    ctx: Context, timings: dict[str, list[float]], base_name: str, calls: int, repeats: int
) -> tuple[Table, list[list[str]]]:
    """The table of every subject against ``store=None`` (paired), and the two summary rows."""
    base = timings[base_name]

    def paired(name: str) -> float:
        return median([value / reference for value, reference in zip(timings[name], base, strict=False)])

    table = Table(
        f"In process: the suppression check's cost, µs per call, {calls:,} fresh addresses x {repeats} repetitions",
        ["Call", "µs/call (median)", "Best", "Range", "vs store=None (paired median)"],
    )
    for name, values in timings.items():
        table.rows.append(
            [
                name,
                f"{median(values):.1f}",
                f"{min(values):.1f}",
                f"{min(values):.1f}-{max(values):.1f}",
                times(paired(name)),
            ]
        )
    table.notes += [
        "Checker.check awaited in a tight loop in one coroutine, MX cached, a new unsuppressed address per call "
        "(user<N>@d<N % 1000>.com, N >= 10^9, at the stored rows' domains); store=None is Checker(settings, "
        "resolver, store=None): no check at all; the others are built as create_app builds them (same settings, "
        "resolver and metrics)",
        "vs store=None: each repetition's time over store=None's in the same repetition, median over repetitions; "
        "repetitions alternate their order (ABC, CBA, ...)",
        "the check alone: on an already parsed address, the three steps Checker.check adds for the list (the key "
        "filter answers 'certainly not' for almost every miss, so SQLite is rarely asked)",
        f"PostgreSQL rows: {calls // 5:,} calls per repetition (each waits for a query); a suppressed address skips "
        "the MX step and costs more only because the entry is read and rendered into the verdict",
    ]
    ours_name = next(n for n in timings if n.endswith("(the service's own Checker)"))
    alone_name = next(n for n in timings if n.startswith("the check alone"))
    alone = median(timings[alone_name]) / median(base)
    summary = [
        [
            f"In process: Checker.check, SQLite {ctx.rows:,} rows vs store=None (paired)",
            f"{median(timings[ours_name]):.1f} µs",
            f"{median(base):.1f} µs",
            times(paired(ours_name)),
            f"< {CHECK_GOAL:g}x",
            met(paired(ours_name) < CHECK_GOAL),
        ],
        [
            f"In process: the check alone (keys + lookup + match), SQLite {ctx.rows:,} rows, vs Checker.check "
            "with store=None",
            f"{median(timings[alone_name]):.1f} µs",
            f"{median(base):.1f} µs",
            percent(alone),
            f"< {CHECK_GOAL - 1:.0%}",
            met(alone < CHECK_GOAL - 1),
        ],
    ]
    return table, summary
