"""read_message is total: whatever the bytes, facts or ``UnparseableMessage``, never another exception.

Hypothesis feeds random bytes, then corpus messages mutated (truncated, bytes flipped, spliced,
headers duplicated) so that the fuzzing starts from the shapes real MTAs produce.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.testdata import BOUNCES as CORPUS
from validator.bounces.facts import BounceFact
from validator.bounces.readers.message import read_message
from validator.errors import UnparseableMessage

MESSAGES = [path.read_bytes() for path in sorted((CORPUS / "emails").glob("*.eml"))]
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def read_totally(raw: bytes) -> None:
    try:
        facts = read_message(raw)
    except UnparseableMessage:
        return
    assert isinstance(facts, list) and all(isinstance(fact, BounceFact) for fact in facts)


def test_corpus_is_present() -> None:
    assert len(MESSAGES) > 300  # a missing corpus fails here rather than fuzzing nothing


@FUZZ
@given(st.binary(max_size=4096))
def test_random_bytes_never_raise_anything_else(raw: bytes) -> None:
    read_totally(raw)


@FUZZ
@given(st.binary(max_size=2048))
def test_random_body_under_report_headers_never_raises(body: bytes) -> None:
    # the headers of a report, so the readers go past the "is it mail" check into the MIME walk
    head = (
        b"From: MAILER-DAEMON@example.org\nSubject: Undelivered Mail\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\n\n'
    )
    read_totally(head + body)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    raw = bytearray(draw(st.sampled_from(MESSAGES)))
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["truncate", "flip", "insert", "splice", "delete"]))
        at = draw(st.integers(0, max(len(raw) - 1, 0)))
        if kind == "truncate":
            del raw[at:]
        elif kind == "flip" and raw:
            raw[at] = draw(st.integers(0, 255))
        elif kind == "insert":
            raw[at:at] = draw(
                st.sampled_from(
                    [
                        b"\n\n",
                        b"--",
                        b'Content-Type: multipart/report; boundary="',
                        b"Final-Recipient: rfc822; ",
                        b"Action: failed\nStatus: 5.",
                        b"=?utf-8?B?",
                        b"charset=x-unknown",
                        b"\x00",
                        b"\r",
                        b'{"',
                        b"<@>",
                    ]
                )
            )
        elif kind == "splice":
            other = draw(st.sampled_from(MESSAGES))
            start = draw(st.integers(0, max(len(other) - 1, 0)))
            raw[at:at] = other[start : start + draw(st.integers(0, 2000))]
        elif kind == "delete":
            del raw[at : at + draw(st.integers(1, 200))]
    return bytes(raw)


@FUZZ
@given(mutated())
def test_mutated_corpus_messages_never_raise_anything_else(raw: bytes) -> None:
    read_totally(raw)
