"""What the service needs from a store, one Protocol per role, and ``Store``: their union.

A consumer annotates the narrowest role it uses, so its needs are read off its signature and
a test double (or a future backend) implements only that role:

    SuppressionStore  the suppression list and its audit trail       suppressions/importer, routes
    ApiKeyStore       API keys: mint, verify, list, revoke            api/app, routes/api_keys, cli
    ValidationFacts   the hot-path read of a validation               checker
    BounceIngestion   record bounce facts and apply what they teach   bounces/ingest
    BounceReports     read bounce history back                       routes/bounces, routes/reports
    ProbeLedger       probe acceptances against later hard bounces    probe/disagreements
    JobStore          bulk jobs (``job_store.py``)                    jobs/, routes/jobs
    StoreLifecycle    readiness and shutdown                          routes/validate, api/app

Every method may raise ``StoreUnavailable``. Both backends (``sqlite/``, ``postgres/``) implement
all of ``Store``; the contract suite (``tests/integration/test_store.py``) holds them to it:

- Keys are normalized by the caller (``model.py`` says how); the store compares them as given.
- An expired entry is absent for every read (lookups, lists, export) until it is put again,
  which counts as *added*. ``find_suppressions`` answers ``{key: entry}`` for the keys that
  are suppressed, address keys and domain keys in one dict (an address key has an ``@``).
- A write that returned is committed and durable. Writes are planned per key: identical
  content is *unchanged* (nothing written, no audit row), so re-importing a file is a no-op.
- Each change is audited (actor, time, why, before/after) in the same transaction: a single
  change by one audit row; a batch of ``put_suppressions_bulk`` by one record for the entries it
  creates under new keys and one audit row for each other change (``migrations/audit.py``).
- ``list_suppressions`` pages by an opaque cursor over an id that never changes: a row that
  existed when paging began is returned exactly once, whatever is written meanwhile.
  ``since`` selects entries created or updated at or after that moment.
- ``verify_api_key`` may answer from a cache for ``key_cache_ttl`` seconds (default 5): a key
  revoked through another process stops working within that window, through this one at once.
- Freshness of lookups: no answer is cached. SQLite lookups see this process's writes at once
  and other processes' within ``sqlite.SNAPSHOT_SECONDS`` (0.5 s); PostgreSQL's see every commit.

Declarations only: no I/O, no backend.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime
from typing import Protocol

from validator.bounces.plan import Decision, EventCount, FactRecord
from validator.bounces.policy import LearningPolicy
from validator.model import (
    ApiKey,
    AuditEntry,
    BulkResult,
    SoftStreak,
    Suppression,
    SuppressionEntry,
    SuppressionKind,
    SuppressionReason,
)
from validator.store.event_reads import CampaignSummary, StoredEvent
from validator.store.job_store import JobStore

__all__ = [
    "ApiKeyStore",
    "BounceIngestion",
    "BounceReports",
    "JobStore",
    "ProbeLedger",
    "Store",
    "StoreLifecycle",
    "SuppressionStore",
    "ValidationFacts",
]


class SuppressionStore(Protocol):
    """The suppression list: lookups, audited writes, pages, export and the audit trail."""

    async def find_suppressions(self, addresses: Sequence[str], domains: Sequence[str] = ()) -> dict[str, Suppression]:
        """The live entries among these address keys and domain keys, by key (hot path)."""

    async def get_suppression(self, kind: SuppressionKind, value: str) -> Suppression | None:
        """The live entry for one key."""

    async def put_suppression(
        self, entry: SuppressionEntry, *, actor: str, why: str | None = None
    ) -> tuple[Suppression, bool]:
        """Insert or update one entry with its audit row; ``True`` when it was added."""

    async def put_suppressions_bulk(
        self, entries: Iterable[SuppressionEntry], *, actor: str, why: str | None = None
    ) -> BulkResult:
        """Put many entries, ``BULK_BATCH`` per transaction (an iterable is consumed lazily)."""

    async def delete_suppression(
        self, kind: SuppressionKind, value: str, *, actor: str, why: str | None = None
    ) -> Suppression | None:
        """Remove an entry (audited); the removed entry if it was live, else None."""

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
        """One page of live entries in a stable order, and the cursor of the next (None: the end)."""

    def iter_suppressions(
        self,
        *,
        kind: SuppressionKind | None = None,
        reason: SuppressionReason | None = None,
        source: str | None = None,
        since: datetime | None = None,
        page_size: int = 1000,
    ) -> AsyncIterator[Suppression]:
        """Every live entry, page by page, never holding more than one page (for CSV export)."""

    async def audit_trail(self, kind: SuppressionKind, value: str) -> list[AuditEntry]:
        """Every recorded change of one key, oldest first (kept after deletion); a creation by an
        import batch has no audit row of its own (``id`` 0)."""


class ApiKeyStore(Protocol):
    """API keys: only a hash of each token's secret is stored."""

    async def create_api_key(self, name: str, scopes: Iterable[str]) -> tuple[ApiKey, str]:
        """A new key and its token ``vk_<id>_<secret>``: the only time the token exists in clear."""

    async def verify_api_key(self, token: str) -> ApiKey | None:
        """The active key this token belongs to, or None (malformed, unknown, wrong secret, revoked)."""

    def recall_api_key(self, token: str) -> ApiKey | None:
        """``verify_api_key``'s cached answer, without awaiting (every request's path); None: not
        verified lately, so ask ``verify_api_key``."""

    async def list_api_keys(self) -> list[ApiKey]:
        """Every key, revoked ones included, oldest first."""

    async def revoke_api_key(self, id_or_name: str) -> bool:
        """Revoke the active key with this id (or else this name); False if there was none."""


class ValidationFacts(Protocol):
    """What one validation asks the store (hot path)."""

    async def find_validation_facts(
        self, addresses: Sequence[str], domains: Sequence[str] = ()
    ) -> tuple[dict[str, Suppression], dict[str, SoftStreak]]:
        """``find_suppressions`` and ``find_soft_streaks`` of these keys at once (on PostgreSQL one
        round trip instead of two)."""

    def rules_out_validation_facts(self, address: str, domain: str) -> bool:
        """True: ``find_validation_facts([address], [domain])`` would answer ``({}, {})``, known
        without awaiting (the key filters); False: ask it."""


class BounceIngestion(Protocol):
    """Bounce learning's write: facts in, decisions applied."""

    async def ingest_facts(
        self, records: Sequence[FactRecord], policy: LearningPolicy, *, actor: str, dry_run: bool = False
    ) -> list[Decision]:
        """Record a batch of facts and apply what they teach, in one transaction (see ``bounces/plan``).
        ``dry_run``: the same decisions against the stored history, the transaction rolled back."""


class BounceReports(Protocol):
    """Bounce history read back: open soft streaks, the bounce-rate report, the dashboard."""

    async def find_soft_streaks(self, addresses: Sequence[str]) -> dict[str, SoftStreak]:
        """The open soft-bounce streaks of these address keys."""

    async def count_events(
        self,
        *,
        campaign_id: str | None = None,
        sender: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> tuple[list[EventCount], int]:
        """Ingested events grouped for the bounce-rate report, and the open soft streaks among them."""

    async def list_campaigns(self) -> list[CampaignSummary]:
        """Campaigns with ingested events, most recently active first (at most ``CAMPAIGNS_MAX``)."""

    async def list_events(self, campaign_id: str | None, before_id: int | None, limit: int) -> list[StoredEvent]:
        """Bounce and complaint events, newest first, those with ``id < before_id`` when given."""


class ProbeLedger(Protocol):
    """Which addresses an SMTP probe accepted, and how often such addresses bounced hard later."""

    async def record_probe_accepts(self, accepted: Sequence[tuple[str, str]]) -> None:
        """Remember (address key, domain) pairs an SMTP probe accepted, for ``probe_disagreements``."""

    async def probe_disagreements(self, domains: Sequence[str]) -> dict[str, int]:
        """Hard bounces ingested for addresses a probe had accepted, per domain (domains with none are absent)."""


class StoreLifecycle(Protocol):
    """Readiness and shutdown."""

    async def ping(self) -> None:
        """Return if the store answers a query and can take writes (for /readyz); raise
        ``StoreUnavailable`` if not (``StoreReadOnly``: it reads but cannot write)."""

    @property
    def key_filters_building(self) -> int:
        """Key filters still being built in the background (SQLite); lookups are correct meanwhile."""

    async def close(self) -> None:
        """Finish pending work and release connections and threads."""


class Store(
    SuppressionStore,
    ApiKeyStore,
    ValidationFacts,
    BounceIngestion,
    BounceReports,
    ProbeLedger,
    JobStore,
    StoreLifecycle,
    Protocol,
):
    """Every role at once: what ``open_store`` returns and what the composition root hands out."""
