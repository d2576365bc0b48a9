"""categorize: facts in, policy category out (RFC 3463 classes and the wordings real servers use),
with the traps real bounces set."""

import pytest

from validator.bounces.facts import BounceFact, BounceReason, Category, DsnAction, EventKind
from validator.bounces.policy import categorize


def bounce(reason: BounceReason, code: int | None = 550, status: str | None = None, **kw) -> BounceFact:
    return BounceFact("a@example.com", EventKind.BOUNCE, reason=reason, reply_code=code, status=status, **kw)


@pytest.mark.parametrize(
    ("fact", "expected"),
    [
        pytest.param(bounce(BounceReason.USERUNKNOWN), Category.HARD_INVALID, id="user-unknown-is-hard"),
        # Postfix soft_bounce: "450 4.1.1 <x>: Recipient address rejected: User unknown" is still hard
        pytest.param(bounce(BounceReason.USERUNKNOWN, 450, "4.1.1"), Category.HARD_INVALID, id="450-user-unknown-hard"),
        pytest.param(bounce(BounceReason.MAILBOXFULL, 552, "5.2.2"), Category.SOFT_MAILBOX, id="552-full-is-soft"),
        pytest.param(bounce(BounceReason.SUSPEND, 550, "5.2.1"), Category.DISABLED, id="5xx-suspend-disabled"),
        pytest.param(bounce(BounceReason.SUSPEND, 450), Category.SOFT_MAILBOX, id="4xx-suspend-soft"),
        pytest.param(bounce(BounceReason.NOTACCEPT, None, None), Category.HARD_INVALID, id="null-mx-hard"),
        pytest.param(bounce(BounceReason.NOTACCEPT, 421), Category.SOFT_TRANSIENT, id="4xx-notaccept-soft"),
        pytest.param(bounce(BounceReason.BLOCKED, 554, "5.7.1"), Category.SENDER_PROBLEM, id="rbl-is-sender"),
        pytest.param(bounce(BounceReason.AUTHFAILURE), Category.SENDER_PROBLEM, id="dmarc-is-sender"),
        pytest.param(bounce(BounceReason.MESGTOOBIG, 552, "5.3.4"), Category.MESSAGE_PROBLEM, id="too-big-is-message"),
        pytest.param(bounce(BounceReason.EXPIRED, None, "4.4.7"), Category.SOFT_TRANSIENT, id="expired-soft"),
        pytest.param(bounce(BounceReason.USERUNKNOWN, action=DsnAction.DELAYED), Category.IGNORE, id="delayed-ignored"),
        pytest.param(BounceFact("a@x.org", EventKind.COMPLAINT, feedback_type="abuse"), Category.COMPLAINT, id="abuse"),
        pytest.param(
            BounceFact("a@x.org", EventKind.COMPLAINT, feedback_type="not-spam"), Category.IGNORE, id="not-spam"
        ),
        pytest.param(
            BounceFact("a@x.org", EventKind.COMPLAINT, feedback_type="opt-out"), Category.UNSUBSCRIBE, id="opt-out"
        ),
        pytest.param(BounceFact("a@x.org", EventKind.DELIVERED), Category.IGNORE, id="delivered"),
        pytest.param(
            BounceFact("a@x.org", EventKind.AUTO_REPLY, reason=BounceReason.SUSPEND),
            Category.DISABLED,
            id="auto-reply-no-longer-in-use",
        ),
        pytest.param(
            BounceFact("a@x.org", EventKind.AUTO_REPLY, reason=BounceReason.VACATION),
            Category.IGNORE,
            id="vacation-ignored",
        ),
    ],
)
def test_categorize(fact, expected):
    assert categorize(fact) is expected
