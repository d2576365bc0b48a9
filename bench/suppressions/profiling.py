"""``--profile DIR``: py-spy on the SQLite server during one extra lookup or validate run, and the table
of where its samples go (self and inclusive share per function).

The extra run is not recorded: the profiler's own cost would skew the figures of the parts.
"""

from __future__ import annotations

import collections
import subprocess
import sys
import time
from pathlib import Path

from ..report import Table, percent, progress
from .harness import Context, Subject


def profile(ctx: Context, subject: Subject, series: str, connections: int) -> Table:
    """py-spy on the server during one extra run of ``series``: where its samples go."""
    assert subject.server is not None and subject.server.process is not None and ctx.profile is not None
    ctx.profile.mkdir(parents=True, exist_ok=True)
    out = ctx.profile / f"{series.replace('/', '-')}-{subject.key}.txt"
    spy = Path(sys.executable).with_name("py-spy")
    seconds = max(3, round(ctx.seconds))
    progress(f"suppressions: py-spy on {subject.label} during {series} ({out})")
    recorder = subprocess.Popen(
        [
            str(spy),
            "record",
            "-p",
            str(subject.server.process.pid),
            "-d",
            str(seconds),
            "-r",
            "250",
            "-f",
            "raw",
            "-o",
            str(out),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.5)
    ctx.load(subject, series, connections, seconds, record=False)
    recorder.wait(60)
    return profile_table(out, f"py-spy: {subject.label} server during {series} (share of sampled stacks)")


def profile_table(path: Path, title: str, top: int = 15) -> Table:
    leaf: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text().splitlines() if path.exists() else []:
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        total += n
        leaf[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    table = Table(title, ["Function (file:line)", "Self", "Inclusive"])
    for frame, n in leaf.most_common(top):
        table.rows.append([frame, percent(n / total), percent(inclusive[frame] / total)])
    table.notes.append(f"{total:,} samples, idle excluded; the raw stacks are in {path}")
    return table
