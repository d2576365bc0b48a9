"""What reading one raw bounce may cost in time: linear in what is read, whatever its shape.

``POST /v1/bounces`` reads the message on the event loop, so a message that takes seconds to read
stops every other request for as long. Found by throwing repeated shapes at each pattern and loop
of the readers: blank lines made two searches quadratic (``^\\s*`` runs over line ends), and many
recipients made the words about each one a search of the notice for every other recipient
(recipients² × the notice's length). Each shape below is about as large as the readers look at
(``readers/trim.py``: 1 MiB and 20,000 lines; a header block 100 KiB).
"""

from __future__ import annotations

import random
import string
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import orjson
import pytest

from validator.bounces.facts import BounceReason
from validator.bounces.readers.message import read_message
from validator.errors import UnparseableMessage

try:  # tests/ is not a package: pytest puts this directory on sys.path ("prepend" import mode)
    from nasty import Case, Service
except ImportError:  # pragma: no cover - when run with the project root on sys.path instead
    from tests.hostile.nasty import Case, Service

_HEAD = b"From: MAILER-DAEMON@mx.example.org\nTo: sender@example.com\nSubject: Undelivered Mail\n"
_REPORT = b'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\n\n'


def _addresses(count: int, domain: bytes = b"example.org") -> list[bytes]:
    return [b"user%d@%s" % (i, domain) for i in range(count)]


def _named_status_blocks(count: int) -> bytes:
    notice = b"".join(b"<%s>: 550 5.1.1 unknown user\n" % a for a in _addresses(count))
    blocks = b"".join(b"Final-Recipient: rfc822; %s\nAction: failed\nStatus: 5.1.1\n\n" % a for a in _addresses(count))
    return (
        _HEAD + _REPORT + b"--B\nContent-Type: text/plain\n\n" + notice
        + b"\n--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.org\n\n"
        + blocks + b"--B--\n"
    )  # fmt: skip


SHAPES = {
    # 80 KB of blank lines: the notice's search for where the returned original starts took 149 s
    "blank-lines": _HEAD + b"\n" + b"   \n" * 20_000,
    # Exim names a local recipient by its local part: that search too ran over the blank lines
    "blank-lines-exim-local": _HEAD + b"X-Failed-Recipients: kijitora@example.org\n\n" + b"\t \n" * 20_000,
    # 1,000 failed recipients, each named in the notice (48 KB): 14 s
    "failed-recipients-named": _HEAD
    + b"X-Failed-Recipients: "
    + b", ".join(_addresses(1000))
    + b"\n\n"
    + b"".join(b"%s: 550 5.1.1 unknown user\n" % a for a in _addresses(1000)),
    # 800 status blocks, each recipient named in the notice (88 KB): 4 s
    "status-blocks-named": _named_status_blocks(800),
    # 1,000 failed recipients and a To field of 3,000 addresses, read again for each of them: 4.5 s
    "failed-recipients-long-to": _HEAD.replace(
        b"To: sender@example.com", b"To: " + b", ".join(_addresses(3000, b"example.com"))
    )
    + b"X-Failed-Recipients: "
    + b", ".join(_addresses(1000))
    + b"\n\nmail to these recipients failed: 550 unknown user\n",
}
# recipients listed in X-Failed-Recipients, each named on a line of its own below (as Exim names a local one),
# so that the words about each one are their own 1,500 characters to classify: 10,666 of them took 29 s
_MANY = 12_000
MANY_FAILED = (
    _HEAD
    + b"X-Failed-Recipients: "
    + b",".join(b"%x@a.bc" % i for i in range(_MANY))
    + b"\n\n"
    + b"".join(b"%x\n550 x\n" % i for i in range(_MANY))[:64_000]
)
SECONDS = 3.0  # each shape reads in well under a second; the machine is shared


@pytest.fixture(scope="module")
def service(dns_server) -> Iterator[Service]:
    running = Service(dns_server.address)
    yield running
    running.close()


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_reading_a_hostile_bounce_takes_time_linear_in_its_size(name: str) -> None:
    began = time.perf_counter()
    try:
        facts = read_message(SHAPES[name])
    except UnparseableMessage:
        facts = []
    took = time.perf_counter() - began
    assert took < SECONDS, f"{took:.1f} s to read {len(SHAPES[name]) / 1000:.0f} KB"
    if "recipients" in name or "blocks" in name:
        assert len({fact.recipient for fact in facts}) == len(facts) > 500  # every recipient answered


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_a_hostile_bounce_does_not_hold_the_service(service: Service, name: str) -> None:
    began = time.perf_counter()
    status, answer = service.request(Case(name, "POST", "/v1/bounces", SHAPES[name], "message/rfc822"), timeout=60)
    took = time.perf_counter() - began
    assert status in (200, 422), answer[:300]
    assert status == 200 or orjson.loads(answer)["error"]["code"] == "unparseable_message"
    assert took < 2 * SECONDS, f"{took:.1f} s for one request"
    assert service.request(Case("healthz", "GET", "/healthz"), timeout=5)[0] == 200


def test_words_about_each_recipient_end_at_the_next_recipient() -> None:
    # the index of mentions answers as the search of every recipient did: each one's own reply
    facts = read_message(SHAPES["status-blocks-named"])
    assert [fact.diagnostic for fact in facts[798:]] == [
        "user798@example.org>: 550 5.1.1 unknown user <",
        "user799@example.org>: 550 5.1.1 unknown user",
    ]
    facts = read_message(SHAPES["failed-recipients-named"])
    assert [(fact.recipient, fact.diagnostic) for fact in facts[998:]] == [
        ("user998@example.org", "550 5.1.1 unknown user"),
        ("user999@example.org", "550 5.1.1 unknown user"),
    ]


def test_a_message_listing_more_recipients_than_any_mta_sends_to_is_refused_quickly(service: Service) -> None:
    # Postfix refuses more than 1,000 recipients per message (smtpd_recipient_limit): no real bounce lists more
    began = time.perf_counter()
    status, answer = service.request(Case("many", "POST", "/v1/bounces", MANY_FAILED, "message/rfc822"), timeout=60)
    assert time.perf_counter() - began < SECONDS
    assert status == 422, answer[:300]
    error = orjson.loads(answer)["error"]
    assert error["code"] == "unparseable_message" and "10,666 recipients" in error["message"]


def _healthz_while(service: Service, slow: Case, after: float) -> tuple[float, int, bytes]:
    """How long ``/healthz`` waits while ``slow`` is being read (asked ``after`` seconds into it), and
    ``slow``'s own answer."""
    with ThreadPoolExecutor(1) as pool:
        reading = pool.submit(service.request, slow, 60)
        time.sleep(after)
        began = time.perf_counter()
        assert service.request(Case("healthz", "GET", "/healthz"), timeout=30)[0] == 200
        waited = time.perf_counter() - began
        status, answer = reading.result()
    return waited, status, answer


def test_the_service_answers_others_while_it_reads_a_large_bounce(service: Service) -> None:
    """A raw message is read off the event loop: 1,000 recipients with their own words take about 3 s."""
    largest = MANY_FAILED.split(b"\n\n")[0].split(b",")[:1000]
    body = b",".join(largest) + b"\n\n" + b"".join(b"%x\n550 x\n" % i for i in range(1000)) * 4
    waited, status, answer = _healthz_while(service, Case("big", "POST", "/v1/bounces", body, "message/rfc822"), 0.3)
    assert status == 200 and orjson.loads(answer)["count"] == 1000, answer[:300]
    assert waited < 0.5, f"/healthz waited {waited:.1f} s"


def test_the_service_answers_others_while_it_reads_a_megabyte_of_events(service: Service) -> None:
    # 1,000 events with 850-character replies (1 MiB, the body limit): reading them took 1 s on the event loop
    rng = random.Random(7)  # words unlike any pattern's, so each reply is read to its end

    def reply() -> str:
        return "550 5.1.1 " + " ".join("".join(rng.choices(string.ascii_lowercase, k=6)) for _ in range(120))

    events = [
        {"event": "bounce", "email": f"ev{i}@x.co", "timestamp": "2026-01-01T00:00:00Z", "smtp_message": reply()}
        for i in range(1000)
    ]
    body = orjson.dumps(events)
    waited, status, answer = _healthz_while(
        service, Case("events", "POST", "/v1/events", body, "application/json"), 0.1
    )
    assert status == 200 and orjson.loads(answer)["count"] == 1000, answer[:300]
    assert waited < 0.5, f"/healthz waited {waited:.1f} s"


def _qmail_notice(count: int, reply: bytes = b"Remote host said: 550 5.1.1 unknown user") -> bytes:
    """A qmail-send notice naming ``count`` failed recipients in its prose, no structure to read them from."""
    failures = b"".join(b"<%s>:\n%s\n\n" % (a, reply) for a in _addresses(count, b"e.org"))
    intro = b"Hi. This is the qmail-send program at mx.example.org.\nI'm afraid I wasn't able to deliver your message"
    return (
        _HEAD
        + b"\n"
        + intro
        + b" to the following addresses.\nThis is a permanent error; I've given up.\n\n"
        + failures
    )


def test_a_notice_naming_many_recipients_is_read_for_every_one_or_refused_not_cut() -> None:
    # the notice's addresses were cut at 50: the 51st and later dropped without a word
    facts = read_message(_qmail_notice(60))
    assert len(facts) == 60 and facts[-1].recipient == "user59@e.org"
    assert {(fact.reason, fact.status) for fact in facts} == {(BounceReason.USERUNKNOWN, "5.1.1")}
    began = time.perf_counter()
    with pytest.raises(UnparseableMessage, match="1,001 recipients"):
        read_message(_qmail_notice(1001, reply=b"550"))
    assert time.perf_counter() - began < SECONDS
