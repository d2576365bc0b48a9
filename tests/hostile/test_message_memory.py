"""What reading one raw message may cost: the email package sees only the bounded part the readers
look at (``readers/trim.py``), whatever the message's size or shape, and a message within the
bounds is read exactly as before. Measured with tracemalloc around ``read_message`` (pure, no I/O)."""

from __future__ import annotations

import email
import email.policy
import tracemalloc
from email.message import Message
from pathlib import Path

import pytest

from validator.bounces.readers.message import read_message
from validator.bounces.readers.trim import MAX_BYTES, MAX_ENTITIES, trim_message
from validator.errors import UnparseableMessage

try:  # tests/ is not a package: pytest puts this directory on sys.path ("prepend" import mode)
    from nasty import MIB, _csv_bodies, _message_bodies
except ImportError:  # pragma: no cover - when run with the project root on sys.path instead
    from tests.hostile.nasty import MIB, _csv_bodies, _message_bodies

CORPUS = sorted((Path(__file__).parents[1] / "data").rglob("*.eml"))
# what parsing the trimmed part may cost, whatever the message: 1 MiB and 20,000 lines at most,
# at the email package's worst rate (about 190 bytes per line in field blocks)
PARSE_MEMORY = 16 * MIB
HOSTILE = {**_message_bodies(1), **{f"csv-{k}": v for k, v in _csv_bodies(1).items() if len(v) > MIB}}


def _peak_of_reading(raw: bytes) -> tuple[int, list | str]:
    tracemalloc.start()
    try:
        answer: list | str = [(fact.recipient, fact.reason.value) for fact in read_message(raw)]
    except UnparseableMessage as exc:
        answer = exc.message
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak, answer


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_reading_a_large_message_costs_a_bounded_amount(name: str) -> None:
    raw = HOSTILE[name]
    peak, answer = _peak_of_reading(raw)
    assert peak < PARSE_MEMORY, f"{peak / MIB:.1f} MiB to read {len(raw) / MIB:.1f} MiB"
    assert isinstance(answer, list | str)


def test_a_bounce_with_a_huge_returned_original_is_still_read() -> None:
    # the status part comes before the original (RFC 3464 §2): cutting the original loses nothing
    for name in ("huge-original", "short-lines-original"):
        peak, answer = _peak_of_reading(HOSTILE[name])
        assert answer == [("gone@example.net", "userunknown")], name
        assert peak < PARSE_MEMORY


def test_trimming_keeps_the_first_parts_and_drops_the_rest() -> None:
    trimmed = trim_message(HOSTILE["huge-original"])
    assert len(trimmed) <= MAX_BYTES + 1
    assert b"Final-Recipient: rfc822; gone@example.net" in trimmed
    assert trimmed.count(b"\n--b\n") == 0
    parts = trim_message(HOSTILE["many-parts"])
    assert parts.count(b"--b\n") == MAX_ENTITIES - 1  # the top entity and 199 parts


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_a_message_within_the_bounds_is_read_as_it_came(path: Path) -> None:
    raw = path.read_bytes()
    assert trim_message(raw) is raw


def _facts(raw: bytes) -> list | str:
    try:
        return read_message(raw)
    except UnparseableMessage as exc:
        return exc.message


def test_a_corpus_bounce_reads_the_same_with_a_huge_returned_original() -> None:
    """Each corpus message whose last part is the returned original (message/*, text/rfc822-headers),
    grown past every bound by 3 MB of lines in that part, states the same facts as before."""
    padding = b"".join(b"%076d\n" % i for i in range(40_000))  # 3 MB of an original's body
    compared, differ = 0, []
    for path in CORPUS:
        raw = path.read_bytes()
        message = email.message_from_bytes(raw, policy=email.policy.compat32)
        boundary = message.get_boundary()
        parts = message.get_payload() if message.is_multipart() else []
        if not boundary or not parts or not isinstance(parts[-1], Message):
            continue
        if not parts[-1].get_content_type().startswith(("message/", "text/rfc822")):
            continue
        close = raw.rfind(b"--" + boundary.encode("ascii", "surrogateescape") + b"--")
        if close <= 0:
            continue
        compared += 1
        if _facts(raw[:close] + padding + raw[close:]) != _facts(raw):
            differ.append(path.name)
    assert compared > 150 and differ == [], (compared, differ)
