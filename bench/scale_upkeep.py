"""How long the SQLite store's suppression key filter is off after writes by another process.

``python -m bench.scale_upkeep ENTRIES [--growth]`` prints one JSON object; ``python -m bench scale``
runs it in its own process and puts the figures in its tables. In one process, on a fresh SQLite file
of ``ENTRIES`` suppressions (written straight into SQLite, ``bench.scale_seed``), it times:

- ``build_s``: from ``open_store`` until no key filter is building (/readyz ``key_filters_building`` 0);
- ``burst_s``: 10,000 keys committed by another connection (as another process: a CLI import), then
  from the next snapshot renewal until the filter is back (its lookups go to SQLite meanwhile);
- with ``--growth``: the list is grown, 4,000 keys per renewal (pulled on the loop, as single
  writes are), to less than 4,000 keys short of the filter's capacity (``fill_s``), then 8,000
  more are committed, past it, and ``growth_s`` is timed as ``burst_s``.

Every poll renews the store's read snapshot (``_stale``), so the figures time the filter's own
work, not the 0.5 s within which a process sees another's writes. It uses only what the store
offered before the key filter was shared (``key_filters_building``, ``ping``), so the same file
times the code before and after the change (``PYTHONPATH`` pointing at an older ``validator``).
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

from bench.scale_seed import seed_suppressions
from validator.store import open_store

try:
    from validator.store.sqlite.keyfile import KeyFile
except ImportError:  # the code before the shared key file
    KeyFile = None  # type: ignore[assignment,misc]

BURST = 10_000
STEP = 4_000  # keys a snapshot renewal adds to the filter on the loop (at most 5,000)
BITS_PER_KEY = 10


def _capacity(store) -> int:
    """The keys the suppression filter holds before it is full: of its shared file, or (before the
    file) of the process's own filter."""
    feed = store._suppression_keys
    if hasattr(feed, "path"):
        return KeyFile.open(feed.path, writable=False).state().layers[-1][0] // BITS_PER_KEY
    return feed.filter.capacity


async def _until_filtered(store, limit: float = 600.0) -> float:
    began = time.monotonic()
    while time.monotonic() - began < limit:
        store._stale = True  # renew the snapshot at once: the filter pulls what was committed
        await store.ping()
        if not store.key_filters_building:
            return time.monotonic() - began
        await asyncio.sleep(0.005)
    raise RuntimeError("the key filter did not come back")


async def measure(entries: int, growth: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-upkeep-") as folder:
        database = Path(folder) / "v.sqlite3"
        url = f"sqlite:///{database}"
        await (await open_store(url, key_filters=False)).close()  # the schema
        seed_suppressions(database, entries)
        began = time.monotonic()
        store = await open_store(url)
        try:
            await _until_filtered(store)
            figures = {"build_s": time.monotonic() - began}
            seed_suppressions(database, BURST, start=entries)
            figures["burst_s"] = await _until_filtered(store)
            if growth:
                began, number, capacity = time.monotonic(), entries + BURST, _capacity(store)
                while number < capacity - STEP:  # in steps the loop pulls itself: no rebuild
                    seed_suppressions(database, STEP, start=number)
                    number += STEP
                    await _until_filtered(store)
                figures["fill_s"] = time.monotonic() - began
                seed_suppressions(database, 2 * STEP, start=number)
                figures["growth_s"] = await _until_filtered(store)
            return figures
        finally:
            await store.close()


def main() -> None:
    entries = int(sys.argv[1])
    print(json.dumps(asyncio.run(measure(entries, "--growth" in sys.argv[2:]))))


if __name__ == "__main__":
    main()
