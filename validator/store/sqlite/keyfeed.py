"""The key filters of the SQLite store: every key a lookup may find, kept current from ids that only grow.

A lookup first asks a feed's ``filter``; only keys it cannot rule out reach SQLite. The filter is
the host's shared key file (``keyfile.py``) plus a small layer of this process's own for the keys
stored since the file's ``last_id``:

- ``KeyFeed.pull`` runs on the loop at each snapshot renewal: it reads the file's header, and adds
  the keys stored after both the file's ``last_id`` and its own layer's to its own layer (a few
  thousand at most; more, and the filter is off, its lookups going to SQLite, until the keeper has
  caught up). ``filter`` is None while there is no file matching the store.
- ``KeyKeeper.keep`` runs on the filter thread of the one process holding the keeper lock: it
  builds the file from one scan when there is none that matches the store, then extends it in
  place from the ids above its ``last_id``; a layer that fills up gains another (no rescan).

Ids only grow, in commit order (one writer at a time), so "every key up to id N" is a prefix
that a process can extend by reading ``id > N``. Keys left behind by deletions only cost a
wasted lookup. Only ``SqliteConnections`` drives these.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from validator.store.keyfilter import BITS_PER_KEY, BloomLayer, KeyFilter, Layers, key_hash
from validator.store.sqlite.keyfile import MAX_LAYERS, FileState, KeyFile, grown
from validator.store.sqlite.sql import translated

log = logging.getLogger("validator.store")
FILTER_PULL_MAX = 5000  # new keys read on the loop at a snapshot renewal; more: wait for the keeper
OWN_CAPACITY = 65_536  # keys this process's own layer holds beyond the file (128 KiB)
EXTEND_CHUNK = 20_000  # keys the keeper adds per query and header publication
BUILD_BATCH = 4_096  # keys read at a time by a full build: the build's heap stays small
REBUILD_GAP = 100_000  # new keys past which, if also more than the file holds, one scan beats extending


@dataclass(frozen=True, slots=True)
class FeedSql:
    """``recent``: (id, key) rows after an id, by id, with a limit; ``top``: the highest id;
    ``keys``: every key; ``key_at``: the key stored at an id; ``size``: about as many as ``keys``
    gives, or more (a first layer's capacity)."""

    name: str
    recent: str
    top: str
    keys: str
    key_at: str
    size: str


def fingerprint(conn: sqlite3.Connection, sql: FeedSql, last_id: int) -> int | None:
    """The hash of the key stored at ``last_id`` (0 for none yet); None when that row is gone."""
    if not last_id:
        return 0
    row = conn.execute(sql.key_at, (last_id,)).fetchone()
    return None if row is None else key_hash(row[0] or "")


def matches(conn: sqlite3.Connection, sql: FeedSql, state: FileState, token: int) -> bool | None:
    """Whether a file describes this store: its token, an id the store has reached, and the same
    key at that id (a copy restored from before and written since has another). None: cannot
    tell in this snapshot (the id is not visible in it: newer than the snapshot, or deleted; the
    keeper, who reads the latest data, builds the file again in the second case)."""
    if state.token != token or not state.layers:
        return False
    (top,) = conn.execute(sql.top).fetchone()
    if state.last_id > top:
        return None
    found = fingerprint(conn, sql, state.last_id)
    return None if found is None else found == state.fingerprint


class KeyFeed:
    """The loop's side: the shared file as mapped by this process, and its own layer."""

    def __init__(self, sql: FeedSql, path: Path) -> None:
        self.sql, self.path = sql, path
        self.token = 0  # the database's key file token: set before the first pull
        self.filter: Layers | None = None  # None: every lookup goes to SQLite
        self._file: KeyFile | None = None
        self._refused = -1  # the inode of a file found not to match the store
        self._shared: list[BloomLayer] = []
        self._own = KeyFilter(OWN_CAPACITY)
        self._own_last = 0  # the own layer holds the keys after the file's last_id, up to here

    def pull(self, conn: sqlite3.Connection) -> None:
        """In the loop's fresh snapshot: bring ``filter`` up to date (or turn it off)."""
        try:
            state = self._current_file(conn)
        except (OSError, ValueError) as exc:  # the file is unreadable: lookups go to SQLite
            log.warning("key filter %s off: %s", self.sql.name, exc)
            self.close()
            return
        if state is None:
            self.filter = None
            return
        if state.last_id >= self._own_last:  # the file has caught up with the own layer
            if self._own.count:
                self._own.clear()
            self._own_last = state.last_id
        rows = conn.execute(self.sql.recent, (self._own_last, FILTER_PULL_MAX + 1)).fetchall()
        if len(rows) > FILTER_PULL_MAX or self._own.count + len(rows) > self._own.capacity:
            self.filter = None  # too many for the loop: SQLite answers until the keeper catches up
            return
        if rows:
            self._own.update(key for _, key in rows if key)
            self._own_last = rows[-1][0]
        # an empty own layer (the file holds every key, as it usually does) is left out: it has no
        # bit set, and it cannot gain one before the next pull, so asking it would only cost time
        self.filter = Layers([*self._shared, self._own.layer] if self._own.count else self._shared)

    def _current_file(self, conn: sqlite3.Connection) -> FileState | None:
        """The header of the file at ``path``, (re)mapped and checked against the store as needed."""
        inode = _inode(self.path)
        if self._file is not None and self._file.inode != inode:
            self.close()
        if self._file is None:
            if inode < 0 or inode == self._refused:
                return None
            opened = KeyFile.open(self.path, writable=False)
            if opened is None:
                return None
            verdict = matches(conn, self.sql, opened.state(), self.token)
            if not verdict:
                if verdict is False:
                    self._refused = opened.inode
                opened.close()
                return None
            self._file, self._own_last = opened, 0
            self._own.clear()
        state = self._file.state()
        if len(self._shared) != len(state.layers):
            layers = self._file.layers(state)
            if layers is None:
                self._file.remap()
                layers = self._file.layers(state)
            self._shared = layers or []
        return state

    def close(self) -> None:
        self.filter, self._shared = None, []
        if self._file is not None:
            self._file.close()
            self._file = None


class KeyKeeper:
    """The filter thread's side, in the keeper process only: builds and extends the file."""

    def __init__(self, sql: FeedSql, path: Path, token: int) -> None:
        self.sql, self.path, self._token = sql, path, token
        self._file: KeyFile | None = None
        self._state: FileState | None = None
        self._layers: list[BloomLayer] = []

    def keep(self, conn: sqlite3.Connection) -> bool:
        """Take the file over (or build it), then add the keys stored since its ``last_id``. True
        when the file changed (built, or extended)."""
        with translated():
            if self._file is not None and _inode(self.path) != self._file.inode:
                self.close()  # removed or replaced behind the keeper's back: readers no longer see it
            taken = self._file is None
            if taken:
                self._take_over(conn)
            assert self._file is not None and self._state is not None
            started, first, inode = time.monotonic(), self._state.last_id, self._file.inode
            while True:
                (top,) = conn.execute(self.sql.top).fetchone()
                if top - self._state.last_id > max(REBUILD_GAP, sum(held for _, held in self._state.layers)):
                    self._build(conn)  # a big import: one sequential scan, into one layer of the right size
                    started, first = time.monotonic(), self._state.last_id
                rows = conn.execute(self.sql.recent, (self._state.last_id, EXTEND_CHUNK)).fetchall()
                if not rows:
                    if self._state.last_id - first > FILTER_PULL_MAX:
                        log.info(
                            "key filter extended: %s, ids %d to %d in %.2f s",
                            *(self.sql.name, first + 1, self._state.last_id, time.monotonic() - started),
                        )
                    return self._state.last_id != first or self._file.inode != inode or taken
                self._add(key for _, key in rows if key)
                last_id = rows[-1][0]
                self._state = replace(self._state, last_id=last_id, fingerprint=key_hash(rows[-1][1] or ""))
                self._file.publish(self._state)

    def _take_over(self, conn: sqlite3.Connection) -> None:
        found = KeyFile.open(self.path, writable=True)
        if found is not None and matches(conn, self.sql, state := found.state(), self._token):  # None: rebuild
            self._file, self._state = found, state
            self._layers = found.layers(state) or []
            return
        if found is not None:
            found.close()
        self._build(conn)

    def _build(self, conn: sqlite3.Connection) -> None:
        """One scan, in one snapshot, into a new file; moved in place once complete."""
        started, previous = time.monotonic(), (self._file, self._state, self._layers)
        temporary = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        conn.execute("BEGIN")
        try:
            (top,) = conn.execute(self.sql.top).fetchone()
            (size,) = conn.execute(self.sql.size).fetchone()
            built = KeyFile.create(temporary, self._token, max(size, OWN_CAPACITY))
            try:
                self._file, self._state = built, built.state()
                self._layers = built.layers(self._state) or []
                keys = conn.execute(self.sql.keys)
                while batch := keys.fetchmany(BUILD_BATCH):  # a list of 10M keys would hold 700 MB
                    self._add(key for (key,) in batch if key)
                self._state = replace(self._state, last_id=top, fingerprint=fingerprint(conn, self.sql, top) or 0)
            except BaseException:
                built.close()
                self._file, self._state, self._layers = previous
                os.unlink(temporary)
                raise
        finally:
            conn.execute("COMMIT")
        built.publish(self._state)
        built.install(self.path)
        if previous[0] is not None:
            previous[0].close()
        log.info(
            "key filter built: %s, %d keys in %.2f s",
            self.sql.name,
            self._state.layers[0][1],
            time.monotonic() - started,
        )

    def _add(self, new: Iterable[str]) -> None:
        """Set the bits of ``keys``, in the newest layer, adding a layer whenever it is full."""
        assert self._file is not None and self._state is not None
        keys, start = list(new), 0
        while start < len(keys):
            nbits, held = self._state.layers[-1]
            room = nbits // BITS_PER_KEY - held
            if room <= 0 and len(self._state.layers) < MAX_LAYERS:
                self._state = grown(self._state)
                self._file.publish(self._state)  # the file grows before a reader may map the new layer
                self._layers = self._file.layers(self._state) or []
                log.info("key filter %s: layer %d added", self.sql.name, len(self._state.layers))
                continue
            batch = keys[start : start + max(room, 1)] if room > 0 else keys[start:]
            layer = self._layers[-1]
            for key in batch:
                layer.add_hash(key_hash(key))
            layers = (*self._state.layers[:-1], (nbits, held + len(batch)))
            self._state = replace(self._state, layers=layers)
            start += len(batch)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _inode(path: Path) -> int:
    """The inode at ``path``: a rebuilt file is a new one; -1 for none."""
    try:
        return os.stat(path).st_ino
    except OSError:
        return -1


def suppression_sql() -> FeedSql:
    return FeedSql(
        "suppressions",
        "SELECT id, value FROM suppressions WHERE id > ? ORDER BY id LIMIT ?",
        "SELECT coalesce(max(id), 0) FROM suppressions",
        "SELECT value FROM suppressions",
        "SELECT value FROM suppressions WHERE id = ?",
        "SELECT coalesce(max(id), 0) FROM suppressions",  # count(*) reads the whole index: 2.7 s at 5M
    )


def streak_sql() -> FeedSql:
    """Addresses with an open soft-bounce streak. Only ingestion writes a streak, and always with
    a delivery event of the same address in the same transaction; events are never deleted, so
    their ids serve as the feed's (a superset of the streak addresses: a wasted lookup at worst)."""
    return FeedSql(
        "streaks",
        "SELECT id, address FROM delivery_events WHERE id > ? ORDER BY id LIMIT ?",
        "SELECT coalesce(max(id), 0) FROM delivery_events",
        "SELECT address FROM soft_streaks",
        "SELECT address FROM delivery_events WHERE id = ?",
        "SELECT count(*) FROM soft_streaks",
    )
