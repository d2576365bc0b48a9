"""The SQLite store's two key filters (suppressions, soft-bounce streaks) as one store drives them.

On the loop, ``pull`` brings both up to date at each snapshot renewal (``keyfeed.KeyFeed``). In
the background, ``_keep`` tries every ``KEEP_SECONDS`` to hold the host's keeper lock; while it
holds it, this process keeps the shared key files current on its filter thread
(``keyfeed.KeyKeeper``), and a pull that finds more new keys than the loop takes wakes it at
once. Every other process of the host tries to take the lock as often, so another worker carries
on when the keeper stops. Only ``SqliteConnections`` uses this.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from validator.errors import StoreReadOnly, StoreUnavailable
from validator.store.sqlite.keyfeed import KeyFeed, KeyKeeper, streak_sql, suppression_sql
from validator.store.sqlite.keyfile import KeeperLock
from validator.store.sqlite.sql import in_transaction, translated

log = logging.getLogger("validator.store")
KEEP_SECONDS = 0.5  # how often the keeper brings the shared key files up to date
KEEP_RETRY_SECONDS = 60.0  # after the key files could not be written
RULED_OUT_DOMAINS_MAX = 100_000  # domains remembered per snapshot (half a second): bounds the memory
TOKEN_SQL = "SELECT value FROM counters WHERE name = 'key_file_token'"

Run = Callable[[Callable[[sqlite3.Connection], bool]], Awaitable[bool]]  # on the filter thread, its connection
Submit = Callable[[Callable[[], None]], "Future[Any]"]  # queued on the filter thread


def key_file_token(conn: sqlite3.Connection) -> int | None:
    """On the writer thread: the database's key file token, created once (a random number that
    tells its key files from another database's). None: read-only, and none yet."""
    with translated():
        row = conn.execute(TOKEN_SQL).fetchone()
    if row is None:
        insert = "INSERT OR IGNORE INTO counters (name, value) VALUES ('key_file_token', abs(random()))"
        try:
            in_transaction(conn, lambda c: c.execute(insert))
        except StoreReadOnly:
            log.warning("key filters off: the database is read-only and has no key file token yet")
            return None
        with translated():
            row = conn.execute(TOKEN_SQL).fetchone()
    return int(row[0])


class KeyFilters:
    """Both feeds of one store; ``start`` puts them in use (never, for a store without key filters:
    their ``filter`` stays None and every lookup goes to SQLite)."""

    def __init__(self, database: Path) -> None:
        self.database = database
        self.suppressions = KeyFeed(suppression_sql(), Path(f"{database}-suppressions.keys"))
        self.streaks = KeyFeed(streak_sql(), Path(f"{database}-streaks.keys"))
        self._feeds: list[KeyFeed] = []
        # Domain keys the suppression filter ruled out in the loop's current snapshot: every key that
        # snapshot can see is in the filter, so the answer holds until the next pull, which empties
        # this. Domains repeat from validation to validation; a set lookup costs a tenth of the filter's.
        self.ruled_out_domains: set[str] = set()
        self._behind = asyncio.Event()  # set by a pull that found too many new keys: keep at once
        self._keeping: asyncio.Future[None] | None = None

    def start(self, token: int, run: Run, submit: Submit, changed: Callable[[], None]) -> None:
        """``changed``: called on the loop after this process changed a file (the loop's snapshot
        may then be renewed early, so that the filters take it up at the next lookup)."""
        self._feeds = [self.suppressions, self.streaks]
        for feed in self._feeds:
            feed.token = token
        self._keeping = asyncio.ensure_future(self._keep(token, run, submit, changed))

    def pull(self, conn: sqlite3.Connection) -> None:
        """In the loop's fresh snapshot: bring the filters up to date from the shared files and the
        keys stored since (a few thousand at most; more, and a filter is off until the keeper caught up)."""
        self.ruled_out_domains.clear()
        for feed in self._feeds:
            feed.pull(conn)
            if feed.filter is None:
                self._behind.set()

    @property
    def building(self) -> int:
        """Filters not in use yet (being built, or catching up with a burst of writes)."""
        return sum(feed.filter is None for feed in self._feeds)

    async def _keep(self, token: int, run: Run, submit: Submit, changed: Callable[[], None]) -> None:
        lock = KeeperLock(Path(f"{self.database}-keys.lock"))
        keepers = [KeyKeeper(feed.sql, feed.path, token) for feed in self._feeds]
        try:
            while True:
                pause = KEEP_SECONDS
                self._behind.clear()  # before keeping: a pull that falls behind meanwhile wakes the next round
                if lock.try_take():
                    for keeper in keepers:
                        try:
                            if await run(keeper.keep):
                                changed()
                        except StoreUnavailable as exc:  # lookups stay correct without it; try again
                            log.warning("key filter %s not kept up to date: %s", keeper.sql.name, exc)
                        except Exception:  # a file that cannot be written, or a fault: lookups go to SQLite
                            log.exception("key filter %s cannot be kept", keeper.sql.name)
                            keeper.close()
                            pause = KEEP_RETRY_SECONDS
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._behind.wait(), pause)
        finally:  # on the filter thread, after a keep under way (FIFO): no other keeper while it writes
            try:
                for keeper in keepers:
                    submit(keeper.close)
                submit(lock.release)
            except RuntimeError:  # the thread has already stopped
                lock.release()

    def close(self) -> None:
        if self._keeping is not None:
            self._keeping.cancel()
        for feed in self._feeds:
            feed.close()
