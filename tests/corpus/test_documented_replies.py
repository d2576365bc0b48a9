"""Every reply a primary source documents (tests/corpus/documented_replies.py) reads to the reason its source gives.

The rules were not written against this set, so it checks them where the corpus cannot: RFC 7505's X.7.27 (the
sender's null MX) was read as the recipient's domain refusing mail until this set named it.
"""

import pytest

try:  # tests/corpus is on sys.path under pytest ("prepend" import mode); the project root otherwise
    from documented_replies import DOCUMENTED, STANDARD, VENDOR, Documented
except ImportError:  # pragma: no cover
    from tests.corpus.documented_replies import DOCUMENTED, STANDARD, VENDOR, Documented

from validator.bounces.classify import reason_of
from validator.bounces.facts import BounceFact, Category, DsnAction, EventKind
from validator.bounces.policy import categorize
from validator.smtp_reply import parse_reply


@pytest.mark.parametrize("documented", DOCUMENTED, ids=[d.reply[:48] for d in DOCUMENTED])
def test_a_documented_reply_reads_as_its_source_says(documented: Documented) -> None:
    assert reason_of(parse_reply(documented.reply)) is documented.reason, documented.source


def test_both_kinds_are_present_and_every_reply_names_its_source() -> None:
    assert {d.kind for d in DOCUMENTED} == {STANDARD, VENDOR}
    assert all(d.source for d in DOCUMENTED)


def test_a_senders_null_mx_never_suppresses_the_recipient() -> None:
    # RFC 7505 §4.2: X.7.27 is about the sender's address; X.1.10 about the recipient's domain
    def category(reply: str) -> Category:
        parsed = parse_reply(reply)
        fact = BounceFact(
            recipient="x@example.com",
            event=EventKind.BOUNCE,
            reason=reason_of(parsed),
            action=DsnAction.FAILED,
            status=parsed.enhanced,
            reply_code=parsed.code,
        )
        return categorize(fact)

    assert category("550 5.7.27 Sender address has null MX") is Category.SENDER_PROBLEM
    assert category("556 5.1.10 Recipient address has null MX") is Category.HARD_INVALID
