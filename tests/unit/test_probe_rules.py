"""The prober's pure rules: what may go on the wire, and the per-domain rate limit."""

import dataclasses

import pytest

from validator.model import Address
from validator.probe import wire_address
from validator.ratelimit import DomainRate

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
    from validator.probe import per_process

    shared = per_process(dataclasses.replace(Settings(), workers=2, smtp_max_connections=50,
                                             smtp_max_connections_per_host=3, smtp_domain_rate=60))
    assert (shared.smtp_max_connections, shared.smtp_max_connections_per_host, shared.smtp_domain_rate) == (25, 1, 30)
    alone = Settings()
    assert per_process(alone) is alone


def test_rate_forgets_idle_domains(monkeypatch):
    from validator import ratelimit

    monkeypatch.setattr(ratelimit, "_SWEEP_AT", 2)
    rate = DomainRate(1)
    for i in range(3):
        rate.reserve(f"d{i}.com", 1, 0.0, 1.0)
    rate.reserve("late.com", 1, 100.0, 101.0)  # the first three windows have passed: swept
    assert rate.reserve("d0.com", 1, 100.0, 101.0) == [100.0]
    assert len(rate._sent) == 2
