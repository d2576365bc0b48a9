"""SQL text, row conversions and connection plumbing of the SQLite backend.

Plain functions over ``sqlite3`` connections, shared by the store's three threads; the
thread ownership and the snapshot policy live in ``SqliteConnections`` (``connections.py``). sqlite3 errors are
translated here (``unavailable``, ``translated``) and leave as ``StoreUnavailable``.
"""

from __future__ import annotations

import contextlib
import functools
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from validator.errors import StoreReadOnly, StoreUnavailable
from validator.model import ApiKey, Suppression, SuppressionKind, SuppressionReason
from validator.store import records

T = TypeVar("T")
CHUNK = 512  # keys per IN (...): far below SQLite's 32,766 variables; ~1-3 ms on the loop at most
READ_BUSY_MS = 100  # the longest a loop-thread read may wait for a lock
# The loop's reader maps the file (https://sqlite.org/mmap.html) instead of copying each page it
# probes through read() into its own cache: a 1,000-key batch at 10M entries took 4-5 ms instead
# of 10-16 ms. The pages are the OS page cache's (shared, reclaimable, counted in RSS as file
# pages once touched); builds cap the size (Debian's SQLite 3.40 at 2 GiB less 64 KiB).
READ_MMAP = f"mmap_size = {1 << 31}"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
COLUMNS = "kind, value, reason, source, detail, created_at, updated_at, expires_at"
KEY_COLUMNS = "id, name, scopes, secret_sha256, created_at, revoked_at, last_used_at"
LIVE = "(expires_at IS NULL OR expires_at > ?)"
POINT_SQL = (
    f"SELECT {COLUMNS} FROM suppressions WHERE kind = 'address' AND value = ? AND {LIVE} UNION ALL "
    f"SELECT {COLUMNS} FROM suppressions WHERE kind = 'domain' AND value = ? AND {LIVE}"
)
_KINDS = {k.value: k for k in SuppressionKind}
_REASONS = {r.value: r for r in SuppressionReason}


def to_us(moment: datetime) -> int:
    # Exact for every microsecond until 2106: two float roundings stay under 0.5 µs in all.
    return round(moment.timestamp() * 1_000_000)


def from_us(us: int | None) -> datetime | None:
    return None if us is None else EPOCH + timedelta(microseconds=us)


def suppression(row: Sequence[Any]) -> Suppression:
    kind, value, reason, source, detail, created, updated, expires = row[:8]
    created_at = EPOCH + timedelta(microseconds=created)
    return Suppression(
        _KINDS[kind],
        value,
        _REASONS[reason],
        source,
        detail,
        created_at,
        created_at if updated == created else EPOCH + timedelta(microseconds=updated),  # never changed: the usual
        None if expires is None else EPOCH + timedelta(microseconds=expires),
    )


def as_row(s: Suppression) -> tuple[Any, ...]:
    expires = None if s.expires_at is None else to_us(s.expires_at)
    return (
        s.kind.value,
        s.value,
        s.reason.value,
        s.source,
        s.detail,
        to_us(s.created_at),
        to_us(s.updated_at),
        expires,
    )


def api_key(row: Sequence[Any]) -> ApiKey:
    return ApiKey(
        row[0],
        row[1],
        frozenset(row[2].split()),
        EPOCH + timedelta(microseconds=row[4]),
        from_us(row[5]),
        from_us(row[6]),
    )


def unavailable(exc: sqlite3.Error) -> Exception:
    """What a sqlite3 error means to callers: trouble is ``StoreUnavailable`` (``StoreReadOnly`` for
    SQLITE_READONLY and its extended codes); integrity and programming errors are bugs and stay as they are."""
    if getattr(exc, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_READONLY:  # "attempt to write a readonly database"
        return StoreReadOnly(
            f"SQLite store is read-only: {exc} (the database file, its -wal and -shm files and"
            " their directory must be writable by the service)"
        )
    if isinstance(exc, (sqlite3.OperationalError, sqlite3.InternalError)):  # locked, I/O, cannot open
        return StoreUnavailable(f"SQLite store unavailable: {exc}")
    if type(exc) is sqlite3.DatabaseError:  # "file is not a database", "database disk image is malformed"
        return StoreUnavailable(f"SQLite store unusable: {exc}")
    return exc


@contextlib.contextmanager
def translated() -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as exc:
        error = unavailable(exc)
        if error is exc:
            raise
        raise error from exc


def connect(path: Path, busy_ms: int, *pragmas: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, cached_statements=256)
    for pragma in (f"busy_timeout = {busy_ms}", *pragmas):
        conn.execute(f"PRAGMA {pragma}")
    return conn


def in_transaction(conn: sqlite3.Connection, fn: Callable[..., T], *args: Any) -> T:
    """``fn(conn, *args)`` inside ``BEGIN IMMEDIATE`` ... ``COMMIT`` (the write lock from the start)."""
    with translated():
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = fn(conn, *args)
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        return result


def probe_write(conn: sqlite3.Connection) -> None:
    """Raise ``StoreReadOnly`` unless the database takes a write: a write that changes nothing, rolled
    back. ``BEGIN IMMEDIATE`` alone is not enough: on a read-only file it succeeds (SQLite 3.40)."""
    with translated():
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("UPDATE counters SET value = value WHERE name = 'suppression_id'")
        finally:
            conn.execute("ROLLBACK")


@functools.lru_cache(maxsize=256)
def lookup_sql(addresses: int, domains: int, live: bool) -> str:
    """One statement for ``addresses`` address keys and ``domains`` domain keys (powers of two)."""
    tail = f" AND {LIVE}" if live else ""
    return " UNION ALL ".join(
        f"SELECT {COLUMNS} FROM suppressions WHERE kind = '{kind}' AND value IN ({','.join('?' * n)}){tail}"
        for kind, n in (("address", addresses), ("domain", domains))
        if n
    )


def padded(values: list[str]) -> list[str]:
    """Padded to a power of two with repeats, so that a handful of statement texts stay cached."""
    return values + [values[-1]] * ((1 << (len(values) - 1).bit_length()) - len(values)) if values else values


def select_keys(
    conn: sqlite3.Connection, addresses: list[str], domains: list[str], now_us: int | None
) -> list[Suppression]:
    """Entries among at most ``CHUNK`` keys of each kind; live ones only when ``now_us`` is given."""
    addresses, domains = padded(addresses), padded(domains)
    now = [] if now_us is None else [now_us]
    params = [*addresses, *(now if addresses else ()), *domains, *(now if domains else ())]
    sql = lookup_sql(len(addresses), len(domains), now_us is not None)
    return [suppression(row) for row in conn.execute(sql, params).fetchall()]


def insert_audit(conn: sqlite3.Connection, rows: list[records.AuditRow]) -> None:
    """Audit rows, each naming the import batch that created the row it changes (given, or the row's)."""
    conn.executemany(
        "INSERT INTO suppression_audit (kind, value, action, actor, at, why, before, after, batch_id)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?,"
        " coalesce(?, (SELECT batch_id FROM suppressions WHERE kind = ? AND value = ?)))",
        [
            (a.kind, a.value, a.action, a.actor, to_us(a.at), a.why, a.before, a.after, a.batch_id, a.kind, a.value)
            for a in rows
        ],
    )
