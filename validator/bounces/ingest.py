"""Ingestion: facts from any reader in, decisions applied to the store, one record per recipient out.

The readers say what happened; ``policy`` says what it means; this module keys each fact
(recipient normalized as the suppression list keys it; an idempotency key so the same report
twice changes nothing), and hands the batch to the store, which plans and writes it in one
transaction. ``dry_run`` decides against the stored history and writes nothing (CLI ``--dry-run``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime

from validator.bounces.facts import BounceFact
from validator.bounces.plan import Decision, FactRecord, plan_ingest
from validator.bounces.policy import LearningPolicy, categorize
from validator.model import Address
from validator.store.protocols import BounceIngestion
from validator.store.records import utc_now
from validator.suppressions.keys import address_key, domain_key
from validator.syntax import parse_address


def fact_key(fact: BounceFact, recipient: str) -> str:
    """The idempotency key: the report's own id when it has one, else every field that tells reports apart."""
    if fact.event_id:
        parts: tuple[object, ...] = ("id", fact.provider, fact.event_id, recipient, fact.event)
    else:
        parts = (
            "fact",
            fact.event,
            recipient,
            fact.message_id,
            fact.status,
            fact.reply_code,
            fact.diagnostic,
            fact.feedback_type,
            fact.timestamp.isoformat() if fact.timestamp else None,
            fact.provider,
        )
    # 128 bits of SHA-256: collisions stay out of reach (2^64 events for even odds) at half the index size
    return hashlib.sha256("\x1f".join("" if p is None else str(p) for p in parts).encode()).hexdigest()[:32]


def fact_record(fact: BounceFact, source: str, now: datetime) -> FactRecord:
    parsed = parse_address(fact.recipient.strip().strip("<>"), allow_smtputf8=True, allow_reserved=True)
    address, domain = (address_key(parsed), domain_key(parsed)) if isinstance(parsed, Address) else ("", "")
    return FactRecord(
        fact_key(fact, address or fact.recipient),
        address,
        domain,
        fact,
        categorize(fact),
        source,
        fact.timestamp or now,
    )


class Ingestor:
    """Applies facts to the store under the learning policy; one instance per service or CLI run."""

    def __init__(self, store: BounceIngestion | None, policy: LearningPolicy) -> None:
        self._store, self._policy = store, policy

    async def ingest(
        self, facts: Sequence[BounceFact], *, source: str, actor: str, dry_run: bool = False
    ) -> list[Decision]:
        """Decisions in input order. ``actor`` is written to the audit trail of every suppression."""
        now = utc_now()
        records = [fact_record(f, source, now) for f in facts]
        if self._store is None:  # no store at all: against an empty history
            return plan_ingest(
                records, seen=set(), streaks={}, counted=set(), probe_accepted=set(), policy=self._policy
            ).decisions
        return await self._store.ingest_facts(records, self._policy, actor=actor, dry_run=dry_run)
