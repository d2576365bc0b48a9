"""The garbage collector's settings for a long-running service process (``settle_heap``).

Measured while a job ran in the service's process (``python -m bench jobs``): CPython's full
collections came every few seconds and held the event loop 30-160 ms each (they walk every
tracked object, the MX cache of 20,000 domains included): the longest stalls real-time
requests saw. What exists once the service is built (modules, settings, the app) lives as
long as the process, so it is frozen out of every collection; a larger first generation lets
the objects of requests and job slices die young instead of being promoted to the old
generation, whose growth is what triggers full collections. Called at the process edges
(``validator serve``, the job runner's child process), never by tests or libraries.
"""

from __future__ import annotations

import gc

GC_THRESHOLDS = (10_000, 20, 10)  # CPython's default is (700, 10, 10)


def settle_heap() -> None:
    """Collect once, freeze what survives (``gc.freeze``), raise the thresholds."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
