"""A Bloom filter of stored keys: "certainly not suppressed" (or "certainly no soft-bounce
streak") without touching SQLite.

Almost every address a sender validates is not on its suppression list. In a running server
a SQLite point lookup costs ~25 µs (a cold path through the library between HTTP requests,
against ~5 µs in a tight loop); asking this filter first costs ~2 µs and answers "no" for
99% of unsuppressed keys at 10 bits per key. A "maybe" still goes to SQLite, so the filter
can only save work, never change an answer, as long as it holds every key ever stored: keys
are only added (a deleted or expired key left behind costs a wasted lookup, nothing more).

Pure: no I/O. ``hash()`` of a str is randomised per process, which is fine: a filter lives
and dies with its process.
"""

from __future__ import annotations

from collections.abc import Iterable

_PROBES = 4
_BITS_PER_KEY = 10  # with 4 probes: about 1.2% false positives at capacity


class KeyFilter:
    """Add keys; ask whether a key might have been added."""

    def __init__(self, capacity: int) -> None:
        bits = 1 << max(20, (max(capacity, 1) * _BITS_PER_KEY - 1).bit_length())
        self.capacity = bits // _BITS_PER_KEY
        self.count = 0
        self._mask = bits - 1
        self._bits = bytearray(bits // 8)

    def add(self, key: str) -> None:
        h = hash(key)
        step = (h >> 29) | 1
        for i in range(_PROBES):
            index = (h + i * step) & self._mask
            self._bits[index >> 3] |= 1 << (index & 7)
        self.count += 1

    def update(self, keys: Iterable[str]) -> None:
        for key in keys:
            self.add(key)

    def might_contain(self, key: str) -> bool:
        h = hash(key)
        step = (h >> 29) | 1
        bits, mask = self._bits, self._mask
        for i in range(_PROBES):
            index = (h + i * step) & mask
            if not bits[index >> 3] & (1 << (index & 7)):
                return False
        return True

    @property
    def full(self) -> bool:
        """Past capacity the false-positive rate climbs: time to build a bigger one."""
        return self.count > self.capacity
