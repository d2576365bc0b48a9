"""verdict_json(): the MX hosts a cached answer shares are rendered once, and never another's."""

from validator.model import Action, Address, MxAnswer, MxHost, MxOutcome, Status, Verdict
from validator.wire import validation as wire

ADDR = Address("jane", "example.com", "example.com", "jane@example.com", False)


def _verdict(hosts: tuple[MxHost, ...]) -> Verdict:
    mx = MxAnswer("example.com", MxOutcome.MX, hosts, 300)
    return Verdict("jane@example.com", ADDR.normalized, Status.DELIVERABLE, Action.ACCEPT, (), None, ADDR, mx)


def _hosts_rendered_fresh(hosts: tuple[MxHost, ...]) -> list[dict[str, object]]:
    # the rendering before it was remembered: one object per host, in preference order
    return [
        {"host": h.host, "preference": h.preference, "addresses": h.addresses, "routable": h.routable} for h in hosts
    ]


def test_hosts_are_rendered_as_they_are_and_remembered_by_identity():
    hosts = (MxHost("mx1.example.com", 10, ("8.8.8.8",), True), MxHost("mx2.example.com", 20, (), False))
    first = wire.verdict_json(_verdict(hosts))["checks"]["dns"]["mx"]
    assert first == _hosts_rendered_fresh(hosts)
    assert wire.verdict_json(_verdict(hosts))["checks"]["dns"]["mx"] is first  # the same tuple: remembered


def test_another_tuple_is_rendered_as_its_own():
    # equal tuples that are distinct objects, then a different one: each answer shows its own hosts
    one = (MxHost("mx.example.com", 10, ("8.8.8.8",), True),)
    other = (MxHost("mx.example.net", 5, ("1.1.1.1", "1.0.0.1"), True),)
    for hosts in (one, tuple(list(one)), other):
        assert wire.verdict_json(_verdict(hosts))["checks"]["dns"]["mx"] == _hosts_rendered_fresh(hosts)


def test_the_memory_is_bounded():
    for i in range(wire._HOSTS_RENDERED_MAX + 10):
        wire.verdict_json(_verdict((MxHost(f"mx{i}.example.com", 10, (), True),)))
    assert len(wire._HOSTS_RENDERED) <= wire._HOSTS_RENDERED_MAX
