"""The prober against a real Postfix (Debian's package) on loopback, with Postfix's default limits.

``tests/support/postfix.py`` installs the package when it can and runs a private instance on an ephemeral
loopback port, outbound delivery disabled. Postfix logs each session's command counts when it ends
("disconnect from localhost[127.0.0.1] ehlo=1 mail=2 rcpt=3/11 rset=1 quit=1 commands=8/16"): the
tests read those lines to check what the server saw. When Postfix cannot run here, every test is
skipped with the reason (``pytest -rs`` shows it; ``make test`` passes ``-rs``).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator

import pytest

from tests.support.postfix import PostfixInstance, unavailable
from tests.support.probing import point
from validator.model import ProbeOutcome

DOMAIN, CATCH_ALL = "postfix-mail.com", "postfix-catch-all.com"
REPLIES = {f"user{i}@{DOMAIN}": "250 2.1.5 Ok" for i in range(0, 100, 4)}
REPLIES.update(
    {f"user{i}@{DOMAIN}": "452 4.2.2 <{addr}>: Recipient address rejected: Mailbox full" for i in range(1, 100, 20)}
)
REPLIES.update(
    {f"user{i}@{DOMAIN}": "550 5.2.1 <{addr}>: Recipient address rejected: Account disabled" for i in range(3, 100, 20)}
)
_DISCONNECT = re.compile(r"disconnect from \S+ (.*)")


def expected(address: str) -> ProbeOutcome:
    reply = REPLIES.get(address, "550" if address.endswith(DOMAIN) else "250")
    return {
        "250": ProbeOutcome.ACCEPTED,
        "452": ProbeOutcome.MAILBOX_FULL,
        "550": ProbeOutcome.MAILBOX_DISABLED if "disabled" in reply else ProbeOutcome.MAILBOX_NOT_FOUND,
    }[reply[:3]]


@pytest.fixture(scope="module")
def postfix() -> Iterator[PostfixInstance]:
    why = unavailable()
    if why is not None:
        pytest.skip(f"no real Postfix: {why}")
    with PostfixInstance(REPLIES, [CATCH_ALL], [DOMAIN]) as instance:
        yield instance


def sessions(instance: PostfixInstance) -> list[dict[str, str]]:
    """Postfix's per-session command counts: {"rcpt": "3/11", "quit": "1", ...}."""
    return [
        dict(item.split("=") for item in match.group(1).split() if "=" in item)
        for match in map(_DISCONNECT.search, instance.log().splitlines())
        if match
    ]


async def test_a_mixed_batch_gets_every_answer_right_within_postfixs_limits(make, dns, postfix):
    probing = make(smtp_port=postfix.port, smtp_domain_rate=1000)
    point(dns, DOMAIN, "127.0.0.1")
    point(dns, CATCH_ALL, "127.0.0.1")
    emails = [f"user{i}@{DOMAIN}" for i in range(100)] + [f"anyone{i}@{CATCH_ALL}" for i in range(20)]
    verdicts = await probing.checker.check_many(emails, smtp=True, timeout_ms=1500)
    assert [v.smtp.outcome for v in verdicts] == [expected(e) for e in emails]
    assert all(v.smtp.accept_all for v in verdicts[100:])
    await probing.prober.close()
    log = postfix.log()
    assert "too many errors" not in log and "DATA" not in log.upper().replace("METADATA", "")
    for _ in range(100):  # postlogd writes the lines a moment after the sessions end
        seen = [counts for counts in sessions(postfix) if "ehlo" in counts]  # not the start-up port check
        if len(seen) >= probing.prober.pool_stats.connections:
            break
        await asyncio.sleep(0.05)
    assert len(seen) == probing.prober.pool_stats.connections
    for counts in seen:
        accepted, _, sent = counts.get("rcpt", "0").partition("/")  # "rcpt=3/11": 11 sent, 3 accepted
        assert int(sent or accepted) - int(accepted) <= 8, counts  # stayed below the soft limit
        assert counts.get("quit") == "1", counts  # and ended politely


async def test_sequential_unknown_mailboxes_are_answered_fast_and_never_tarpitted(make, dns, postfix):
    probing = make(smtp_port=postfix.port, smtp_domain_rate=1000)
    point(dns, DOMAIN, "127.0.0.1")
    for i in range(30):  # three times Postfix's soft error limit
        verdict = await probing.check(f"nobody{i}@{DOMAIN}", timeout_ms=1500)
        assert verdict.smtp.outcome is ProbeOutcome.MAILBOX_NOT_FOUND, verdict.smtp
        assert verdict.smtp.elapsed_ms < 900  # a 1 s error sleep would show
    assert probing.prober.pool_stats.tarpits == 0
