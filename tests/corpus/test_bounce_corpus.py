"""read_message against the labelled bounce corpus (tests/data/bounces): the accuracy goals, held.

Scoring lives in ``bounce_agreement`` (shared with ``python -m bench bounces``). Goals: recipients
found >= 97%, hard-bounce precision >= 97%, recall >= 95%, no fact from a non-bounce.

Where a label and the reply's plain meaning disagree the meaning is followed and the bench lists the
rows (``Score.label_overrides``): 23 rows Sisimai labels soft (mostly ``filtered``) say in so many words
that the mailbox does not exist ("550 5.0.0 <x>... User unknown", "550 : User unknown"); one identical
reply, "550 5.2.1 <x>... User Unknown", is labelled ``userunknown`` in one message and ``filtered`` in
another. Against the raw labels precision is 81.5%; the test holds the meaning-following figure. Each
overruled row carries a reviewer's verdict (``label_review``); a new overrule fails here until reviewed.
"""

from __future__ import annotations

import pytest

try:  # tests/ is not a package: pytest puts this directory on sys.path ("prepend" import mode)
    from bounce_agreement import Score, load_rows, read_corpus, reason_table, score_ours
    from label_review import REVIEW
except ImportError:  # pragma: no cover - when run with the project root on sys.path instead
    from tests.corpus.bounce_agreement import Score, load_rows, read_corpus, reason_table, score_ours
    from tests.corpus.label_review import REVIEW

RECIPIENT_GOAL = 97.0
PRECISION_GOAL = PRECISION_FLOOR = 97.0
RECALL_GOAL = 95.0


@pytest.fixture(scope="module")
def score() -> Score:
    """Every message read once; a missing corpus raises, never skips."""
    return score_ours(load_rows(), read_corpus())


def test_recipients_are_found(score: Score) -> None:
    assert score.recipient_rate >= RECIPIENT_GOAL, score.misses


def test_hard_bounce_precision(score: Score) -> None:
    print(f"\nhard-bounce precision {score.precision:.1f}% (goal {PRECISION_GOAL}%)")
    assert score.precision >= PRECISION_FLOOR


def test_hard_bounce_recall(score: Score) -> None:
    assert score.recall >= RECALL_GOAL


def test_negatives_give_no_facts(score: Score) -> None:
    assert score.negatives_with_facts == []


def test_reason_agreement_table(score: Score) -> None:
    print(f"\nreason agreement {score.reason_rate:.1f}%\n{reason_table(score)}")
    # measured 81.3%: 22 rows labelled filtered/mailboxfull now read as the userunknown their replies state
    assert score.reason_rate >= 80.0


def test_every_overruled_label_is_reviewed(score: Score) -> None:
    """The bench's review of overruled labels covers exactly the rows overruled, no more, no fewer."""
    assert sorted(score.overruled_files) == sorted(REVIEW)
