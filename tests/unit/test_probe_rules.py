"""The prober's pure rules: what may go on the wire, and the per-domain rate limit."""

import dataclasses

import pytest

from validator.model import Address
from validator.probe.prober import wire_address
from validator.probe.ratelimit import DomainRate

JANE = Address("Jane.Doe", "example.com", "example.com", "Jane.Doe@example.com", False)


def test_wire_address_is_the_normalized_ascii_form():
    idn = Address("jane", "bücher.de", "xn--bcher-kva.de", "jane@bücher.de", False)
    assert wire_address(JANE) == "Jane.Doe@example.com"
    assert wire_address(idn) == "jane@xn--bcher-kva.de"  # RFC 5890: the domain travels as A-labels


@pytest.mark.parametrize(
    "local, domain",
    [
        ("jane\r\nDATA", "example.com"),  # command injection through a line break
        ("jane\nRSET", "example.com"),
        ("jane\0", "example.com"),  # NUL truncates C strings on the other side
        ("ja ne", "example.com"),  # a space ends the path in RCPT TO
        ("jane>", "example.com"),  # closes the angle brackets early
        ("j" * 65, "example.com"),  # RFC 5321 §4.5.3.1.1: 64 octets
        ("jane", "a" * 63 + "." + "b" * 63 + "." + "c" * 63 + "." + "d" * 61),  # over 254 octets in all
        ("", "example.com"),
        ("jane", "bücher.de"),  # a U-label would be raw UTF-8 on the wire
    ],
    ids=["crlf", "lf", "nul", "space", "bracket", "local_64", "path_254", "empty", "u_label"],
)
def test_wire_address_refuses_what_must_not_reach_a_socket(local, domain):
    assert wire_address(dataclasses.replace(JANE, local_part=local, ascii_domain=domain)) is None


def test_rate_admits_the_limit_then_waits_a_window():
    rate = DomainRate(3)
    assert [rate.reserve("a.com", 1, 100.0, 101.0) for _ in range(3)] == [[100.0]] * 3
    assert rate.reserve("a.com", 1, 100.0, 101.0) is None  # the next slot is at 160 s, past the deadline
    assert rate.reserve("a.com", 1, 100.0, 170.0) == [160.0]  # a caller with time left waits for it
    assert rate.reserve("b.com", 1, 100.0, 101.0) == [100.0]  # domains are counted apart


def test_rate_reserves_nothing_when_refusing():
    rate = DomainRate(2)
    assert rate.reserve("a.com", 3, 0.0, 1.0) is None  # three do not fit before the deadline
    assert rate.reserve("a.com", 2, 0.0, 1.0) == [0.0, 0.0]  # and the refusal took no slots


def test_a_released_reservation_is_room_again():
    rate = DomainRate(1)
    slots = rate.reserve("a.com", 1, 0.0, 1.0)
    assert rate.reserve("a.com", 1, 0.0, 1.0) is None
    rate.release("a.com", slots)  # never sent: the budget is not spent
    assert rate.reserve("a.com", 1, 0.5, 1.0) == [0.5]


def test_rate_never_exceeds_the_limit_in_any_window():
    rate, sent = DomainRate(5), []
    for i in range(200):
        now = i * 0.5
        [at] = rate.reserve("a.com", 1, now, now + 10_000)
        sent.append(at)
    for t in sent:
        assert sum(1 for s in sent if t - 60 < s <= t) <= 5


def test_limits_are_shared_between_worker_processes():
    from validator.config import Settings
    from validator.probe.limits import per_process

    shared = per_process(
        dataclasses.replace(
            Settings(), workers=2, smtp_max_connections=50, smtp_max_connections_per_host=3, smtp_domain_rate=60
        )
    )
    assert (shared.smtp_max_connections, shared.smtp_max_connections_per_host, shared.smtp_domain_rate) == (25, 1, 30)
    alone = Settings()
    assert per_process(alone) is alone


def test_rate_forgets_idle_domains(monkeypatch):
    from validator.probe import ratelimit

    monkeypatch.setattr(ratelimit, "_SWEEP_AT", 2)
    rate = DomainRate(1)
    for i in range(3):
        rate.reserve(f"d{i}.com", 1, 0.0, 1.0)
    rate.reserve("late.com", 1, 100.0, 101.0)  # the first three windows have passed: swept
    assert rate.reserve("d0.com", 1, 100.0, 101.0) == [100.0]
    assert len(rate._sent) == 2


class _Session:
    """The counters HostState reads from a session (one that offers PIPELINING)."""

    def __init__(self, refusals: int, recipients_sent: int, transaction_refusals: int = 0, opening=0.01) -> None:
        self.refusals, self.recipients_sent = refusals, recipients_sent
        self.transaction_refusals = transaction_refusals
        self.extensions = {"PIPELINING"}
        self.opening = opening  # seconds to open: 1 s at a Sendmail with greet_pause


def test_a_host_that_slowed_a_session_teaches_a_refusal_cap_below_where_it_did():
    from validator.probe.host import HostState

    state = HostState("mx.example.com")
    assert state.refusal_cap(8) == 8
    state.learn_trouble(_Session(refusals=5, recipients_sent=9))  # slowed after 5 errors
    assert state.refusal_cap(8) == 4
    state.learn_trouble(_Session(refusals=7, recipients_sent=9))  # a later, milder lesson never raises it
    assert state.refusal_cap(8) == 4
    quiet = HostState("mx.example.org")
    quiet.learn_trouble(_Session(refusals=0, recipients_sent=6))  # no errors: the recipients were counted
    assert (quiet.refusal_cap(8), quiet.session_limit) == (8, 5)


def test_a_slowdown_in_a_first_transaction_with_refusals_teaches_a_transaction_cap_a_later_one_a_session_cap():
    from validator.probe.host import HostState

    state = HostState("mx.example.com", usual=0.001)
    # Sendmail's BadRcptThrottle: the RCPT TO after three refusals since MAIL FROM is slowed; per session or not?
    state.learn_trouble(_Session(refusals=3, recipients_sent=4, transaction_refusals=3, opening=1.0), slowed=True)
    assert (state.transaction_cap(8), state.refusal_cap(8)) == (2, 8)  # a new session costs a second: go on
    # a later transaction slowed after one refusal of its own, three of the session's: this host counts per session
    state.learn_trouble(_Session(refusals=3, recipients_sent=5, transaction_refusals=1, opening=1.0), slowed=True)
    assert (state.transaction_cap(8), state.refusal_cap(8)) == (2, 2)
    cheap = HostState("mx.example.net", usual=0.001)
    cheap.learn_trouble(_Session(refusals=3, recipients_sent=4, transaction_refusals=3, opening=0.01), slowed=True)
    assert (cheap.transaction_cap(8), cheap.refusal_cap(8)) == (2, 2)  # a new session costs less than a guess
    dropped = HostState("mx.example.org")
    dropped.learn_trouble(_Session(refusals=4, recipients_sent=5, transaction_refusals=4, opening=1.0))  # "421 ..."
    assert (dropped.transaction_cap(8), dropped.refusal_cap(8)) == (3, 3)  # a drop is never risked again


def test_a_held_group_within_the_transaction_cap_shows_a_count_per_session():
    from validator.probe.host import HostState

    # Postfix holds the replies before a delayed one: nine refusals, then a group of RSET, MAIL FROM and two
    # recipients got no reply in time, though a count per transaction (cap 9) could not have been reached
    state = HostState("mx.example.com", answered=True, transaction_refusal_limit=9)
    state.learn_tarpit(_Session(refusals=9, recipients_sent=11, transaction_refusals=0), unanswered=2, held=2)
    assert (state.lockstep, state.refusal_cap(20)) == (False, 9)
    fresh = HostState("mx.example.org", answered=True)  # no cap learnt: which of the group was slowed is unknown
    fresh.learn_tarpit(_Session(refusals=9, recipients_sent=11, transaction_refusals=0), unanswered=2, held=2)
    assert (fresh.lockstep, fresh.refusal_cap(20)) == (True, 20)


def test_a_group_whose_replies_were_held_is_followed_by_one_recipient_at_a_time_until_a_cap_is_learnt():
    from validator.probe.host import HostState

    state = HostState("mx.example.com", answered=True)
    assert state.group_size(_Session(refusals=0, recipients_sent=1), 8) == 8
    # the first recipient was answered, then none of a group of seven: which one the host slowed is unknown
    state.learn_tarpit(_Session(refusals=0, recipients_sent=8), unanswered=7, held=7)
    assert (state.lockstep, state.slow, state.group_size(_Session(0, 0), 8)) == (True, False, 1)
    state.learn_tarpit(_Session(refusals=3, recipients_sent=4, transaction_refusals=3), unanswered=1, held=0)
    assert (state.lockstep, state.transaction_cap(8), state.group_size(_Session(1, 1, 1), 8)) == (False, 2, 1)
    slow = HostState("mx.example.net", answered=True)
    slow.learn_tarpit(_Session(refusals=0, recipients_sent=1), unanswered=1, held=1)  # its first recipient, alone
    assert slow.slow  # a slow host, not a throttle: its replies are waited for
    busy = HostState("mx.example.org", answered=True)  # another session's first recipient was answered
    busy.learn_tarpit(_Session(refusals=0, recipients_sent=8), unanswered=8, held=8)  # a held group may hide it
    assert (busy.slow, busy.lockstep) == (False, True)


def test_learnt_limits_relax_halfway_back_after_a_quiet_period_then_are_forgotten():
    from validator.probe.host import HostState

    state = HostState("mx.example.com", refusal_limit=2, conn_limit=1, slow=True)
    state.recover(600.0, refusals=8, recipients=50, connections=3)  # never taught when: nothing to relax
    state.note_lesson()
    state.recover(600.0, refusals=8, recipients=50, connections=3)  # not quiet long enough
    assert (state.refusal_limit, state.conn_limit, state.slow) == (2, 1, True)
    steps = []
    for _ in range(4):
        state.lesson_at -= 601  # as if ten quiet minutes had passed
        state.recover(600.0, refusals=8, recipients=50, connections=3)
        steps.append((state.refusal_limit, state.conn_limit))
    assert steps == [(5, 2), (7, None), (None, None), (None, None)]  # 2 -> 5 -> 7 -> 8 (configured): forgotten
    assert not state.slow and not state.learnt_anything()
    never = HostState("mx.example.org", refusal_limit=2, lesson_at=1.0)
    never.recover(0.0, refusals=8, recipients=50, connections=3)  # 0: learnt limits are kept for good
    assert never.refusal_limit == 2


@pytest.mark.parametrize(
    "usual, slow, owed, patience",
    [
        (None, False, 1, 10.0),
        (0.001, False, 1, 0.25),
        (0.1, False, 1, 0.8),
        (5.0, False, 1, 10.0),
        (0.001, True, 1, 10.0),
        (0.001, False, 3, 0.75),  # RSET, MAIL FROM and RCPT TO: the floor for each, as for three replies
        (0.001, False, 8, 0.75),  # a group of eight at a loopback Sendmail that holds it while throttling: no 2 s
        (0.1, False, 8, 6.4),  # across the internet: the group's usual time eight times over
    ],
    ids=[
        "unknown_host",
        "loopback_floor",
        "internet_8x",
        "capped_by_timeout",
        "slow_host_waited_for",
        "transaction_opening",
        "held_group_floor",
        "internet_group",
    ],
)
def test_patience_is_eight_times_the_usual_reply_within_floor_and_timeout(usual, slow, owed, patience):
    from validator.probe.host import HostState

    state = HostState("mx.example.com", usual=usual, slow=slow)
    assert state.patience(10.0, owed) == pytest.approx(patience)


def test_who_refused_the_prober_and_who_refused_an_address():
    from validator.probe.host import refuses_prober
    from validator.smtp_reply import parse_reply

    rbl = parse_reply("554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org")
    unknown = parse_reply("550 5.1.1 <x@example.com>: Recipient address rejected: User unknown")
    busy = parse_reply("421 4.3.2 Service not available")
    assert refuses_prober(rbl, before_rcpt=False) and refuses_prober(rbl, before_rcpt=True)
    assert not refuses_prober(unknown, before_rcpt=False)
    assert refuses_prober(unknown, before_rcpt=True)  # a 5xx to MAIL FROM is about the sender, whatever it says
    assert not refuses_prober(busy, before_rcpt=True)


@pytest.mark.parametrize(
    "reply, limit",
    [
        ("421 4.7.0 mx.example.org Error: too many errors", True),  # Postfix smtpd_hard_error_limit
        ("550 Too many failed recipients", True),  # an Exim ACL
        ("550 5.1.1 <x@example.com>: Recipient address rejected: User unknown", False),
        ("452 4.5.3 Error: too many recipients", False),
    ],  # a recipient limit, read by refuses_more_recipients
    ids=["postfix_hard_limit", "exim_acl", "user_unknown", "recipient_limit"],
)
def test_too_many_errors_is_a_limit_not_an_answer(reply, limit):
    from validator.smtp_reply import parse_reply, says_too_many_errors

    assert says_too_many_errors(parse_reply(reply)) is limit
