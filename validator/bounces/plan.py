"""Planning one ingestion batch: pure, shared by both backends (as ``records.plan_puts`` is for puts).

A backend reads, inside one transaction, what the batch needs to know (which event keys it
has seen, the open soft streaks, the sends already counted, the addresses a probe accepted),
calls ``plan_ingest``, and writes the plan in the same transaction: events, streak changes,
suppressions (through its audited put) and per-domain probe disagreements. So an
acknowledged batch is wholly committed, and the same batch twice changes nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from validator.bounces.facts import BounceFact, BounceReason, Category, summary_of
from validator.bounces.policy import Learning, LearningPolicy, Outcome, learn
from validator.model import SoftStreak, SuppressionEntry, SuppressionKind, SuppressionReason

_DETAIL_MAX = 1000


@dataclass(frozen=True, slots=True)
class FactRecord:
    """A fact ready to store: keyed for idempotency, its recipient normalized, its category decided."""

    key: str  # idempotency key: the same report twice has the same key
    address: str  # the address key (``suppression.address_key``)
    domain: str
    fact: BounceFact
    category: Category
    source: str  # "api", "webhook:ses", "file", ...
    occurred_at: datetime

    @property
    def send(self) -> str:
        """The send this fact reports on: retries and repeated reports of one message share it."""
        return self.fact.message_id or self.key


@dataclass(frozen=True, slots=True)
class Decision:
    record: FactRecord
    outcome: Outcome
    streak: SoftStreak | None = None  # the address's open streak after this fact
    suppressed_as: SuppressionReason | None = None


class RolledBack(Exception):  # noqa: N818 - not an error: how a dry run leaves its transaction
    """Raised inside an ingest transaction to undo it and hand out its decisions (a dry run)."""

    def __init__(self, decisions: list[Decision]) -> None:
        super().__init__("dry run")
        self.decisions = decisions


@dataclass(slots=True)
class IngestPlan:
    decisions: list[Decision] = field(default_factory=list)
    events: list[Decision] = field(default_factory=list)  # decisions to insert (not duplicates)
    streaks: dict[str, SoftStreak | None] = field(default_factory=dict)  # None: delete
    suppressions: list[SuppressionEntry] = field(default_factory=list)
    disagreements: Counter[str] = field(default_factory=Counter)  # domain -> hard bounces after a probe accept


def plan_ingest(
    records: Sequence[FactRecord],
    *,
    seen: set[str],
    streaks: dict[str, SoftStreak],
    counted: set[tuple[str, str]],
    probe_accepted: set[str],
    policy: LearningPolicy,
) -> IngestPlan:
    """Decide each record in order, as if ingested one at a time; ``seen``/``counted`` grow as we go."""
    plan, seen, counted, streaks = IngestPlan(), set(seen), set(counted), dict(streaks)
    for record in records:
        if record.key in seen:
            plan.decisions.append(Decision(record, Outcome.DUPLICATE, streaks.get(record.address)))
            continue
        seen.add(record.key)
        if not record.address:
            decision = Decision(record, Outcome.INVALID_RECIPIENT)
        else:
            current = streaks.get(record.address)
            new_send = (record.address, record.send) not in counted
            learned = learn(
                record.category, record.fact.event, current, new_send=new_send, at=record.occurred_at, policy=policy
            )
            decision = Decision(record, learned.outcome, learned.streak, learned.suppress)
            _apply(plan, record, learned, current, streaks, counted)
            if record.address in probe_accepted and record.fact.reason is BounceReason.USERUNKNOWN:
                plan.disagreements[record.domain] += 1  # a probe said this mailbox existed
        plan.decisions.append(decision)
        plan.events.append(decision)
    return plan


def _apply(
    plan: IngestPlan,
    record: FactRecord,
    learned: Learning,
    current: SoftStreak | None,
    streaks: dict[str, SoftStreak],
    counted: set[tuple[str, str]],
) -> None:
    if learned.outcome is Outcome.STREAK_INCREMENTED:
        counted.add((record.address, record.send))
    if learned.streak != current:
        plan.streaks[record.address] = learned.streak
        if learned.streak is None:
            streaks.pop(record.address, None)
        else:
            streaks[record.address] = learned.streak
    if learned.suppress is not None:
        fact = record.fact
        detail = summary_of(fact)
        plan.suppressions.append(
            SuppressionEntry(
                SuppressionKind.ADDRESS,
                record.address,
                learned.suppress,
                f"bounce:{record.source}",
                str(detail)[:_DETAIL_MAX] if detail else None,
            )
        )


EVENT_COLUMNS = (
    "dedupe_key, address, domain, event, category, outcome, reason, status, status_source, reply_code, diagnostic,"
    " remote_mta, feedback_type, claimed_type, message_id, event_id, campaign_id, sender, provider, source,"
    " occurred_at, received_at"
)
SOFT_CATEGORIES = (Category.SOFT_MAILBOX.value, Category.SOFT_TRANSIENT.value)
# Report filters: (column, operator) per keyword of ``count_events``; values are bound, never formatted in.
REPORT_FILTERS = (("campaign_id", "="), ("sender", "="), ("occurred_at", ">="), ("occurred_at", "<"))


def event_row(decision: Decision, received_at: datetime) -> tuple[object, ...]:
    """One delivery_events row (timestamps as datetimes: each backend converts them)."""
    r, f = decision.record, decision.record.fact
    return (
        r.key,
        r.address,
        r.domain,
        f.event.value,
        r.category.value,
        decision.outcome.value,
        f.reason.value if f.reason else None,
        f.status,
        f.status_source.value if f.status_source else None,
        f.reply_code,
        f.diagnostic[:_DETAIL_MAX] if f.diagnostic else None,
        f.remote_mta,
        f.feedback_type,
        f.claimed_type,
        f.message_id,
        f.event_id,
        f.campaign_id,
        f.sender,
        f.provider,
        r.source,
        r.occurred_at,
        received_at,
    )


@dataclass(frozen=True, slots=True)
class EventCount:
    """One group of the report query: how many events, and how many distinct addresses."""

    event: str
    category: str
    outcome: str
    events: int
    addresses: int
