"""Bloom filters of stored keys: "certainly not suppressed" (or "certainly no soft-bounce
streak") without touching SQLite.

Almost every address a sender validates is not on its suppression list. In a running server
a SQLite point lookup costs ~25 µs (a cold path through the library between HTTP requests,
against ~5 µs in a tight loop); asking a filter first costs ~2 µs and answers "no" for
99% of unsuppressed keys at 10 bits per key. A "maybe" still goes to SQLite, so a filter
can only save work, never change an answer, as long as it holds every key ever stored: keys
are only added (a deleted or expired key left behind costs a wasted lookup, nothing more).

``BloomLayer`` sets and tests bits in any buffer: a ``bytearray`` (``KeyFilter``, one process)
or a memory map of a file that every process of a host shares (``sqlite/keyfile.py``).
``Layers`` asks several in turn: a filter that fills up gains a layer instead of being built
again (a scalable Bloom filter, Almeida et al., "Scalable Bloom Filters", IPL 101(6), 2007).

The bit positions come from BLAKE2b (``hashlib``), not ``hash()``: ``hash()`` of a str is
randomised per process, and a filter in a shared file must mean the same to every process.
Pure: no I/O.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Sequence
from typing import Protocol

PROBES = 4
BITS_PER_KEY = 10  # with 4 probes: about 1.2% false positives at capacity
MIN_BITS = 1 << 20


def key_hash(key: str) -> int:
    """64 bits that every process derives alike from ``key``."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little")


@functools.lru_cache(maxsize=4096)
def lookup_hash(key: str) -> int:
    """``key_hash`` for lookups, remembered: a validation asks two filters (suppressions, soft-bounce
    streaks) about its address, and domains repeat from request to request. A hit costs 0.1 µs, a
    BLAKE2b digest 0.5 µs. Building a filter hashes each key once and uses ``key_hash`` itself."""
    return key_hash(key)


def bits_for(capacity: int) -> int:
    """The size in bits of a layer for ``capacity`` keys: a power of two, at least ``MIN_BITS``."""
    return 1 << max(MIN_BITS.bit_length() - 1, (max(capacity, 1) * BITS_PER_KEY - 1).bit_length())


class Buffer(Protocol):
    def __getitem__(self, index: int, /) -> int: ...
    def __setitem__(self, index: int, value: int, /) -> None: ...


class BloomLayer:
    """``nbits`` bits (a power of two) of ``buffer`` from byte ``offset``: set and test keys' probes."""

    def __init__(self, buffer: Buffer, nbits: int, offset: int = 0) -> None:
        self._buffer, self._mask, self._offset = buffer, nbits - 1, offset
        self.nbits = nbits
        self.capacity = nbits // BITS_PER_KEY

    def add_hash(self, h: int) -> None:
        buffer, mask, offset, step = self._buffer, self._mask, self._offset, (h >> 32) | 1
        for i in range(PROBES):
            index = (h + i * step) & mask
            buffer[offset + (index >> 3)] |= 1 << (index & 7)

    def has_hash(self, h: int) -> bool:
        # On every validation's path (three keys a request): a while loop over the probes, without
        # range() or a multiplication, costs about a third less than the loop add_hash uses.
        buffer, mask, offset, step = self._buffer, self._mask, self._offset, (h >> 32) | 1
        probes = PROBES
        while probes:
            index = h & mask
            if not buffer[offset + (index >> 3)] & (1 << (index & 7)):
                return False
            h += step
            probes -= 1
        return True


class Layers:
    """Several layers read as one filter: a key might be in it if any layer might hold it."""

    def __init__(self, layers: Sequence[BloomLayer]) -> None:
        self.layers = tuple(layers)

    def might_contain(self, key: str) -> bool:
        return self.might_hold(lookup_hash(key))

    def might_hold(self, h: int) -> bool:
        """``might_contain`` of the key whose ``key_hash`` is ``h``: a caller asking several filters
        about one key hashes it once."""
        for layer in self.layers:  # a plain loop: any() over a generator costs more than one layer's test
            if layer.has_hash(h):
                return True
        return False


class KeyFilter:
    """A filter in this process's memory: add keys; ask whether a key might have been added."""

    def __init__(self, capacity: int) -> None:
        nbits = bits_for(capacity)
        self._bits = bytearray(nbits // 8)
        self.layer = BloomLayer(self._bits, nbits)
        self.capacity = self.layer.capacity
        self.count = 0

    def add(self, key: str) -> None:
        self.layer.add_hash(key_hash(key))
        self.count += 1

    def update(self, keys: Iterable[str]) -> None:
        for key in keys:
            self.add(key)

    def might_contain(self, key: str) -> bool:
        return self.layer.has_hash(lookup_hash(key))

    def clear(self) -> None:
        self._bits[:] = bytes(len(self._bits))
        self.count = 0

    @property
    def full(self) -> bool:
        """Past capacity the false-positive rate climbs."""
        return self.count > self.capacity
