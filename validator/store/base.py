"""What both backends do the same way on top of their SQL: the shared half of the ``Store``.

``StoreBase`` turns a backend's few primitives (write one planned batch, read one page, insert,
fetch, touch and revoke a key) into the public methods whose behaviour must not differ between
SQLite and PostgreSQL: argument checks, batching of bulk writes, counting, cursors, the
streaming iterator, token minting and the verified-token cache. Connections, threads, SQL and
error translation stay in the backends.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import datetime

from validator.model import (
    PUBLISHABLE,
    ApiKey,
    BulkResult,
    Suppression,
    SuppressionEntry,
    SuppressionKind,
    SuppressionReason,
)
from validator.store import api_tokens as keys
from validator.store import records


class StoreBase(ABC):
    """The backend-independent methods of ``Store``; subclasses supply the primitives below."""

    @property
    def key_filters_building(self) -> int:
        """Key filters still being built; a backend with none has none to wait for."""
        return 0

    def rules_out_validation_facts(self, address: str, domain: str) -> bool:
        """Certain, without awaiting, that this address and domain key have no suppression and no
        soft-bounce streak; a backend without key filters is never certain (False: ask
        ``find_validation_facts``)."""
        return False

    def __init__(self, clock: Callable[[], datetime], key_cache_ttl: float) -> None:
        self._clock = clock
        self._keys = keys.KeyVerifier(self._fetch_key, self._touch_key, clock, key_cache_ttl)

    # --- primitives --------------------------------------------------------------------------

    @abstractmethod
    async def _put_batch(
        self, entries: list[SuppressionEntry], actor: str, why: str | None, bulk: bool
    ) -> records.WritePlan:
        """Plan and apply ``entries`` (checked) in one transaction; ``bulk``: one audit record for the
        entries it creates (``migrations/audit.py``), instead of one each."""

    @abstractmethod
    async def _page(
        self,
        after: int,
        limit: int,
        kind: SuppressionKind | None,
        reason: SuppressionReason | None,
        source: str | None,
        since: datetime | None,
    ) -> list[tuple[Suppression, int]]:
        """Up to ``limit`` live entries with ``id > after`` in id order, with their ids."""

    @abstractmethod
    async def _insert_key(self, key: ApiKey, secret_sha256: bytes) -> None:
        """Store a new key; ``Conflict`` if an active key has its name."""

    @abstractmethod
    async def _fetch_key(self, key_id: str) -> tuple[ApiKey, bytes] | None:
        """The key with this id and its secret's hash."""

    @abstractmethod
    async def _touch_key(self, key_id: str, now: datetime) -> None:
        """Record a use of the key."""

    @abstractmethod
    async def _revoke_key(self, id_or_name: str, now: datetime) -> list[str]:
        """Revoke the active key with this id, else this name; the ids revoked."""

    # --- suppressions ------------------------------------------------------------------------

    async def put_suppression(
        self, entry: SuppressionEntry, *, actor: str, why: str | None = None
    ) -> tuple[Suppression, bool]:
        entry = records.checked(entry)
        stored, outcome = (await self._put_batch([entry], actor, why, False)).results[records.key_of(entry)]
        return stored, outcome is records.WriteOutcome.ADDED

    async def put_suppressions_bulk(
        self, entries: Iterable[SuppressionEntry], *, actor: str, why: str | None = None
    ) -> BulkResult:
        added = updated = unchanged = 0
        for batch in records.batches(entries):
            a, u, n = records.count(await self._put_batch(batch, actor, why, True))
            added, updated, unchanged = added + a, updated + u, unchanged + n
        return BulkResult(added, updated, unchanged)

    async def list_suppressions(
        self,
        cursor: str | None = None,
        limit: int = 100,
        *,
        kind: SuppressionKind | None = None,
        reason: SuppressionReason | None = None,
        source: str | None = None,
        since: datetime | None = None,
    ) -> tuple[list[Suppression], str | None]:
        after, limit = records.decode_cursor(cursor), records.checked_limit(limit)
        rows = await self._page(after, limit + 1, kind, reason, source, since)  # one more: is there a next page?
        page = [entry for entry, _ in rows[:limit]]
        return page, records.encode_cursor(rows[limit - 1][1]) if len(rows) > limit else None

    async def iter_suppressions(
        self,
        *,
        kind: SuppressionKind | None = None,
        reason: SuppressionReason | None = None,
        source: str | None = None,
        since: datetime | None = None,
        page_size: int = 1000,
    ) -> AsyncIterator[Suppression]:
        after = 0
        while True:
            rows = await self._page(after, page_size, kind, reason, source, since)
            for entry, _ in rows:
                yield entry
            if len(rows) < page_size:
                return
            after = rows[-1][1]

    # --- API keys ----------------------------------------------------------------------------

    async def create_api_key(self, name: str, scopes: Iterable[str]) -> tuple[ApiKey, str]:
        name, scope_set = keys.checked_key(name, scopes)
        key_id, token, secret_sha256 = keys.mint_token(publishable=PUBLISHABLE in scope_set)
        key = ApiKey(key_id, name, scope_set, self._clock())
        await self._insert_key(key, secret_sha256)
        return key, token

    async def verify_api_key(self, token: str) -> ApiKey | None:
        return await self._keys.verify(token)

    def recall_api_key(self, token: str) -> ApiKey | None:
        return self._keys.recall(token)

    async def revoke_api_key(self, id_or_name: str) -> bool:
        revoked = await self._revoke_key(id_or_name, self._clock())
        for key_id in revoked:
            self._keys.forget(key_id)
        return bool(revoked)
