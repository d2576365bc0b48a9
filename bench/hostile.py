"""Hostile input, longer than the test suite runs it: ``python -m bench hostile [--quick]`` (``make fuzz``).

The corpus of ``tests/hostile/nasty.py`` at a larger scale (bodies 4x the suite's: 32 MiB lines,
64,000-level nesting) and seeded random mutations of its small bodies, thrown at a real
``validator serve`` child process on loopback. Reported: requests, 5xx answers, deaths of the
process, the largest peak resident memory above the size before a request (goal: under 64 MiB),
and the slowest request (parsing must stay linear: a 32 MiB line in seconds, not minutes).
"""

from __future__ import annotations

import time

from tests.hostile.nasty import MIB, Service, cases, mutations  # run from the repository root

from .dnsfixture import DnsProcess
from .report import Outcome, Table, met, progress

REQUEST_MEMORY = 64 * MIB


def run(
    quick: bool,
    seconds: float | None = None,
    rounds: int | None = None,
    loadgen: str = "auto",
    rest: list[str] | None = None,
) -> Outcome:
    scale, count = (1, 300) if quick else (4, 5000)
    rows, failures = [], []
    with DnsProcess(10) as dns:
        service = Service((dns.host, dns.port))
        try:
            for label, batch in (("corpus", cases(scale)), ("mutations", list(mutations(seed=13, count=count)))):
                progress(f"hostile: {len(batch):,} {label} requests (scale {scale})")
                worst, slowest, errors = 0, (0.0, ""), 0
                for case in batch:
                    began = time.perf_counter()
                    status, _, peak = service.measured(case)
                    took = time.perf_counter() - began
                    worst, slowest = max(worst, peak), max(slowest, (took, case.name))
                    if status >= 500 or not service.alive or peak >= REQUEST_MEMORY:
                        errors += 1
                        failures.append(f"{case.name}: {status}, {peak / MIB:.0f} MiB, alive {service.alive}")
                    if not service.alive:
                        break
                rows.append(
                    [
                        label,
                        f"{len(batch):,}",
                        str(errors),
                        "no" if service.alive else "YES",
                        f"{worst / MIB:.1f} MiB",
                        f"{slowest[0]:.2f} s ({slowest[1]})",
                    ]
                )
        finally:
            service.close()
    table = Table(
        f"Hostile input at every endpoint ({'quick' if quick else 'full'} run, scale {scale})",
        ["Requests", "Count", "5xx, died or over 64 MiB", "Died", "Largest peak above idle", "Slowest"],
        rows,
        failures[:20] or ["every request answered below 500 within 64 MiB"],
    )
    summary = [
        [
            "Hostile requests without 5xx, death or 64 MiB",
            f"{sum(int(r[1].replace(',', '')) for r in rows):,}",
            "",
            "",
            "0 failures",
            met(not failures),
        ]
    ]
    return Outcome([table], summary)
