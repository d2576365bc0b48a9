"""A key filter in a file beside the SQLite database, memory-mapped by every process of the host.

Each server worker used to build and hold its own filter (18 MiB and a 10 s scan each at 5M
keys). The filter now lives once, in a file such as ``validator.sqlite3-suppressions.keys``: the
kernel's page cache holds its pages once, whatever the number of processes that map them, and
it outlives a restart (the next start maps it instead of scanning the list again).

Layout: one 4096-byte header page, then the layers' bits, each layer page-aligned (a layer is
at least ``MIN_BITS`` bits, 128 KiB). The header, in little-endian 64-bit words: the magic, the
database's token (a random number stored in its ``counters`` table: another database's file is
never taken for this one's), ``last_id`` (every key stored with an id up to it is in the
filter), the hash of the key stored at ``last_id`` (a database restored from an older copy and
written since has another key there), the number of layers, then each layer's bits and keys.

One process writes (the keeper, who holds ``<database>-keys.lock``); it sets the bits of new keys
first and then publishes the header under ``flock(LOCK_EX)``; readers read the header under
``flock(LOCK_SH)``. The locks order the memory accesses between processes (the kernel's lock is
a full barrier on both sides), so a reader that sees a ``last_id`` also sees the bits behind it.
"""

from __future__ import annotations

import contextlib
import fcntl
import mmap
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from validator.store.keyfilter import BITS_PER_KEY, MIN_BITS, BloomLayer, bits_for

MAGIC = b"VKEYS001"
HEADER = 4096
_FIXED = struct.Struct("<8sQQQQ")  # magic, token, last_id, fingerprint, layer count
_LAYER = struct.Struct("<QQ")  # bits, keys added
MAX_LAYERS = (HEADER - _FIXED.size) // _LAYER.size


@dataclass(frozen=True, slots=True)
class FileState:
    """What the header says: ``layers`` holds (bits, keys added) per layer, oldest first."""

    token: int
    last_id: int
    fingerprint: int
    layers: tuple[tuple[int, int], ...]

    @property
    def size(self) -> int:
        return HEADER + sum(bits // 8 for bits, _ in self.layers)


class KeyFile:
    """One open of a key file: its memory map and the header under its lock. ``writable`` only
    in the keeper; a reader's map is read-only."""

    def __init__(self, path: Path, fd: int, writable: bool) -> None:
        self.path, self._fd, self.writable = path, fd, writable
        self.inode = os.fstat(fd).st_ino
        self._map: mmap.mmap | None = None
        self._mapped = 0
        self.remap()

    @classmethod
    def open(cls, path: Path, *, writable: bool) -> KeyFile | None:
        """The file at ``path``, or None when there is none or it is not a key file."""
        try:
            fd = os.open(path, os.O_RDWR if writable else os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            if os.fstat(fd).st_size < HEADER or os.pread(fd, len(MAGIC), 0) != MAGIC:
                os.close(fd)
                return None
            return cls(path, fd, writable)
        except BaseException:
            os.close(fd)
            raise

    @classmethod
    def create(cls, path: Path, token: int, capacity: int) -> KeyFile:
        """A new, empty, writable file at ``path`` (a temporary name: ``install`` moves it in place)."""
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            nbits = bits_for(capacity)
            os.ftruncate(fd, HEADER + nbits // 8)
            os.pwrite(fd, _FIXED.pack(MAGIC, token, 0, 0, 1) + _LAYER.pack(nbits, 0), 0)
            return cls(path, fd, True)
        except BaseException:
            os.close(fd)
            raise

    def install(self, path: Path) -> None:
        """Move this (complete) file to ``path``: readers that open ``path`` from now on map it."""
        os.replace(self.path, path)
        self.path = path

    def remap(self) -> None:
        """Map the whole file as it is now (after the keeper added a layer)."""
        size = os.fstat(self._fd).st_size
        if self._map is not None:
            self._map.close()
        access = mmap.ACCESS_WRITE if self.writable else mmap.ACCESS_READ
        self._map, self._mapped = mmap.mmap(self._fd, size, access=access), size

    def state(self) -> FileState:
        with self._locked(fcntl.LOCK_SH):
            assert self._map is not None
            _, token, last_id, fingerprint, count = _FIXED.unpack_from(self._map, 0)
            count = min(count, MAX_LAYERS)
            layers = tuple(_LAYER.unpack_from(self._map, _FIXED.size + i * _LAYER.size) for i in range(count))
        if any(nbits < MIN_BITS or nbits & (nbits - 1) for nbits, _ in layers):
            layers = ()  # not a header this module wrote: matches no store
        return FileState(token, last_id, fingerprint, layers)

    def layers(self, state: FileState) -> list[BloomLayer] | None:
        """The layers ``state`` names, over this map; None if the map is too short for them (remap)."""
        if state.size > self._mapped:
            return None
        assert self._map is not None
        found, offset = [], HEADER
        for nbits, _ in state.layers:
            found.append(BloomLayer(self._map, nbits, offset))
            offset += nbits // 8
        return found

    def publish(self, state: FileState) -> None:
        """Keeper only, after the bits of every key up to ``state.last_id`` are set."""
        assert self.writable and self._map is not None and len(state.layers) <= MAX_LAYERS
        if state.size > self._mapped:
            os.ftruncate(self._fd, state.size)
            self.remap()
        header = _FIXED.pack(MAGIC, state.token, state.last_id, state.fingerprint, len(state.layers))
        header += b"".join(_LAYER.pack(*layer) for layer in state.layers)
        with self._locked(fcntl.LOCK_EX):
            self._map[: len(header)] = header

    def resident_bytes(self) -> int:
        return self._mapped

    def close(self) -> None:
        if self._map is not None:
            with contextlib.suppress(BufferError):  # a layer still in use keeps it until collected
                self._map.close()
            self._map = None
        with contextlib.suppress(OSError):
            os.close(self._fd)

    @contextlib.contextmanager
    def _locked(self, how: int) -> Iterator[None]:
        fcntl.flock(self._fd, how)
        try:
            yield
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)


def grown(state: FileState) -> FileState:
    """``state`` with a new, empty layer as big as the others together (the filter doubles: a
    list that keeps growing gains a layer each time it doubles, and a lookup asks each layer)."""
    held = sum(nbits for nbits, _ in state.layers) // BITS_PER_KEY
    return FileState(state.token, state.last_id, state.fingerprint, (*state.layers, (bits_for(held), 0)))


class KeeperLock:
    """``<database>-keys.lock``: the one process of the host that writes the key files holds it."""

    def __init__(self, path: Path) -> None:
        self._path, self._fd = path, -1

    def try_take(self) -> bool:
        if self._fd < 0:
            try:
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError:
                return False
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # closing the only descriptor releases the lock
            self._fd = -1
