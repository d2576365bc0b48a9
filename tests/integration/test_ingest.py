"""Ingestion learns on both stores: suppress hard bounces at once, count soft streaks over distinct
sends, reset on delivery, never blame the address for sender problems, and stay idempotent."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from validator.bounces.facts import BounceFact, BounceReason, EventKind
from validator.bounces.ingest import Ingestor
from validator.bounces.policy import LearningPolicy, Outcome
from validator.bounces.rates import Thresholds, report, tally
from validator.model import SuppressionEntry, SuppressionKind, SuppressionReason

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def soft(recipient: str, message_id: str, day: int = 0, **kw) -> BounceFact:
    # Gmail: "452-4.2.2 The email account that you tried to reach is over quota"
    return BounceFact(
        recipient,
        EventKind.BOUNCE,
        reason=BounceReason.MAILBOXFULL,
        reply_code=452,
        status="4.2.2",
        diagnostic="452-4.2.2 over quota",
        message_id=message_id,
        timestamp=T0 + timedelta(days=day),
        **kw,
    )


def hard(recipient: str, **kw) -> BounceFact:
    return BounceFact(
        recipient,
        EventKind.BOUNCE,
        reason=BounceReason.USERUNKNOWN,
        reply_code=550,
        status="5.1.1",
        diagnostic="550 5.1.1 user unknown",
        message_id=kw.pop("message_id", "m-hard"),
        timestamp=T0,
        **kw,
    )


DEFAULT_POLICY = LearningPolicy()


async def ingest(store, *facts: BounceFact, policy: LearningPolicy = DEFAULT_POLICY):
    return await Ingestor(store, policy).ingest(list(facts), source="test", actor="tester")


async def test_hard_bounce_suppresses_at_once_and_again_is_a_duplicate(store):
    [first] = await ingest(store, hard("Gone@Example.COM"))
    assert (first.outcome, first.suppressed_as, first.record.address) == (
        Outcome.SUPPRESSED,
        SuppressionReason.HARD_BOUNCE,
        "gone@example.com",
    )
    entry = await store.get_suppression(SuppressionKind.ADDRESS, "gone@example.com")
    assert entry.reason is SuppressionReason.HARD_BOUNCE and entry.source == "bounce:test"
    assert entry.detail == "550 5.1.1 user unknown"  # the codes once, not "550 5.1.1 550 5.1.1 user unknown"
    [again] = await ingest(store, hard("gone@example.com"))
    assert again.outcome is Outcome.DUPLICATE
    assert len(await store.audit_trail(SuppressionKind.ADDRESS, "gone@example.com")) == 1


async def test_retries_of_one_send_count_once_and_delivery_resets(store):
    decisions = await ingest(
        store, soft("a@example.com", "m1"), soft("a@example.com", "m1", day=1), soft("a@example.com", "m2", day=2)
    )
    assert [d.outcome for d in decisions] == [
        Outcome.STREAK_INCREMENTED,
        Outcome.STREAK_SAME_SEND,
        Outcome.STREAK_INCREMENTED,
    ]
    assert (await store.find_soft_streaks(["a@example.com"]))["a@example.com"].sends == 2
    [reset] = await ingest(store, BounceFact("a@example.com", EventKind.DELIVERED, message_id="m3", timestamp=T0))
    assert reset.outcome is Outcome.STREAK_RESET
    assert await store.find_soft_streaks(["a@example.com"]) == {}


async def test_three_sends_over_sixty_days_or_five_sends_make_a_chronic_soft_bouncer(store):
    spread = await ingest(store, *(soft("slow@example.com", f"s{i}", day=30 * i) for i in range(3)))
    assert (
        spread[-1].outcome is Outcome.SUPPRESSED and spread[-1].suppressed_as is SuppressionReason.CHRONIC_SOFT_BOUNCE
    )
    close = await ingest(store, *(soft("fast@example.com", f"f{i}", day=i) for i in range(5)))
    assert [d.outcome for d in close][-2:] == [Outcome.STREAK_INCREMENTED, Outcome.SUPPRESSED]
    assert (
        await store.get_suppression(SuppressionKind.ADDRESS, "fast@example.com")
    ).reason is SuppressionReason.CHRONIC_SOFT_BOUNCE
    assert await store.find_soft_streaks(["slow@example.com", "fast@example.com"]) == {}


async def test_sender_problems_never_touch_the_address(store):
    # Postfix: "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org"
    blocked = BounceFact(
        "ok@example.com",
        EventKind.BOUNCE,
        reason=BounceReason.BLOCKED,
        reply_code=554,
        status="5.7.1",
        diagnostic="blocked using zen.spamhaus.org",
        message_id="b1",
        timestamp=T0,
    )
    [decision] = await ingest(store, blocked)
    assert decision.outcome is Outcome.RECORDED
    assert await store.get_suppression(SuppressionKind.ADDRESS, "ok@example.com") is None
    assert await store.find_soft_streaks(["ok@example.com"]) == {}


async def test_complaint_and_unsubscribe_suppress_with_their_reasons(store):
    decisions = await ingest(
        store,
        BounceFact("c@example.com", EventKind.COMPLAINT, feedback_type="abuse"),
        BounceFact("u@example.com", EventKind.UNSUBSCRIBE),
    )
    assert [d.suppressed_as for d in decisions] == [SuppressionReason.COMPLAINT, SuppressionReason.UNSUBSCRIBE]


async def test_report_counts_and_rates(store):
    sends = [
        BounceFact(f"r{i}@example.com", EventKind.SENT, message_id=f"c{i}", campaign_id="spring", timestamp=T0)
        for i in range(200)
    ]
    await ingest(
        store,
        *sends,
        hard("r1@example.com", message_id="c1", campaign_id="spring"),
        soft("r2@example.com", "c2", campaign_id="spring"),
        BounceFact("r3@example.com", EventKind.COMPLAINT, feedback_type="abuse", campaign_id="spring"),
        hard("other@example.com", message_id="x", campaign_id="autumn"),
    )
    groups, open_soft = await store.count_events(campaign_id="spring")
    body = report(tally(groups, open_soft), Thresholds())
    assert body["counts"]["sent"] == 200 and body["counts"]["hard_bounces"] == 1
    assert body["counts"]["unresolved_soft_bounces"] == 1 and body["counts"]["complaints"] == 1
    assert body["rates"]["hard_bounce"]["percent"] == 0.5 and body["rates"]["hard_bounce"]["level"] == "warning"
    assert body["rates"]["total_bounce"]["percent"] == 1.0 and body["rates"]["total_bounce"]["level"] == "healthy"


async def test_dry_run_plans_without_writing(store):
    [decision] = await Ingestor(store, LearningPolicy()).ingest(
        [hard("dry@example.com")], source="t", actor="t", dry_run=True
    )
    assert decision.outcome is Outcome.SUPPRESSED
    assert await store.get_suppression(SuppressionKind.ADDRESS, "dry@example.com") is None


async def test_hard_bounces_after_probe_acceptances_are_counted_per_domain(store):
    await store.record_probe_accepts([("gone@example.com", "example.com"), ("other@example.com", "example.com")])
    await store.record_probe_accepts([("gone@example.com", "example.com")])  # again: still one address
    await ingest(store, hard("gone@example.com"), hard("never-probed@example.com", message_id="m2"))
    assert await store.probe_disagreements(["example.com", "example.org"]) == {"example.com": 1}


async def test_validation_facts_answer_suppressions_and_streaks_in_one_call(store):
    await ingest(store, soft("a@example.com", "m1"), hard("gone@example.com"))
    await store.put_suppression(
        SuppressionEntry(SuppressionKind.DOMAIN, "blocked.example", SuppressionReason.MANUAL, "test"), actor="tester"
    )
    found, streaks = await store.find_validation_facts(
        ["a@example.com", "gone@example.com", "x@blocked.example", "new@example.com"],
        ["example.com", "blocked.example"],
    )
    assert {k: e.reason for k, e in found.items()} == {
        "gone@example.com": SuppressionReason.HARD_BOUNCE,
        "blocked.example": SuppressionReason.MANUAL,
    }
    assert {k: s.sends for k, s in streaks.items()} == {"a@example.com": 1}
    assert await store.find_validation_facts(["a@example.com"], ["example.com"]) == ({}, streaks)
    assert await store.find_validation_facts(["new@example.com"], ["example.com"]) == ({}, {})


async def test_ruling_out_validation_facts_never_hides_a_suppression_or_a_streak(store):
    # The checker skips find_validation_facts when the store rules the keys out without awaiting.
    await ingest(store, soft("a@example.com", "m1"), hard("gone@example.com"))
    await store.put_suppression(
        SuppressionEntry(SuppressionKind.DOMAIN, "blocked.example", SuppressionReason.MANUAL, "test"), actor="tester"
    )
    stored = [
        ("a@example.com", "example.com"),
        ("gone@example.com", "example.com"),
        ("x@blocked.example", "blocked.example"),
    ]
    assert not any(store.rules_out_validation_facts(address, domain) for address, domain in stored)
    fresh = [(f"new{i}@example.org", "example.org") for i in range(50)]
    if type(store).__name__ == "SqliteStore":  # PostgreSQL has no key filters: it never rules out
        for _ in range(600):  # the filters are built in the background after the store opens
            store._stale = True  # the next lookup renews the snapshot, which pulls the filters
            await store.ping()
            if store.key_filters_building == 0:
                break
            await asyncio.sleep(0.05)
        assert store.key_filters_building == 0
        assert sum(store.rules_out_validation_facts(a, d) for a, d in fresh) >= 45  # ~1% false positives
        assert not any(store.rules_out_validation_facts(a, d) for a, d in stored)
    for address, domain in fresh:
        if store.rules_out_validation_facts(address, domain):
            assert await store.find_validation_facts([address], [domain]) == ({}, {})
    # a domain ruled out a moment ago (and remembered for the snapshot) is suppressed now
    await store.put_suppression(
        SuppressionEntry(SuppressionKind.DOMAIN, "example.org", SuppressionReason.MANUAL, "test"), actor="tester"
    )
    assert not any(store.rules_out_validation_facts(a, d) for a, d in fresh)
