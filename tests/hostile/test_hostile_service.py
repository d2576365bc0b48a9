"""Hostile input at every endpoint of the real service (a child process): answered or refused with a
4xx, never a 5xx or a crash, each request within 64 MiB of resident memory above the process's size
before it, and an import writes exactly the rows it reports."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest

try:  # tests/ is not a package: pytest puts this directory on sys.path ("prepend" import mode)
    from nasty import CSV, MIB, Case, Service, cases
except ImportError:  # pragma: no cover - when run with the project root on sys.path instead
    from tests.hostile.nasty import CSV, MIB, Case, Service, cases

REQUEST_MEMORY = 64 * MIB
# A raw message is held once as read, and parsed only as far as the readers look (readers/trim.py):
# 8 MiB messages peaked 0-12 MiB above the process's size (87-91 MiB before, when the email package
# parsed all of it; up to 700 MiB for 8 MiB of delivery-status blocks): the body once, with a
# bytearray's growth, and the parse of at most 1 MiB and 20,000 lines (see test_message_memory).
MESSAGE_HELD, MESSAGE_PARSE = 1.5, 16 * MIB


@pytest.fixture(scope="module")
def service(dns_server) -> Iterator[Service]:
    running = Service(dns_server.address)
    yield running
    running.close()


@pytest.mark.parametrize("case", [pytest.param(case, id=case.name) for case in cases()])
def test_hostile_input_is_answered_without_5xx_crash_or_memory(service: Service, case: Case) -> None:
    status, body, peak = service.measured(case)
    assert service.alive, f"the service died (exit {service.process.returncode}) on {case.name}"
    assert status < 500, body[:300]
    if status >= 400:  # a refusal carries a machine-readable code
        assert orjson.loads(body)["error"]["code"], body[:300]
    assert peak < REQUEST_MEMORY, f"{peak / MIB:.0f} MiB above the size before the request"
    if case.path == "/v1/bounces":
        bound = MESSAGE_HELD * len(case.body) + MESSAGE_PARSE
        assert peak < bound, f"{peak / MIB:.1f} MiB for a {len(case.body) / MIB:.1f} MiB message"


def test_memory_does_not_pile_up_across_the_corpus(service: Service) -> None:
    # runs after the corpus above (file order): what the requests kept, if anything
    assert service.rss() - service.idle_rss < REQUEST_MEMORY, f"{(service.rss() - service.idle_rss) / MIB:.0f} MiB"


def test_an_import_of_hostile_rows_writes_exactly_the_good_ones(service: Service) -> None:
    good = [f"hostile{i}@example.com,manual,".encode() for i in range(3000)]
    bad = [
        b"a\x00b@example.com,manual,",  # NUL
        b"late@example.com,manual,0001-01-01T00:00:00+14:00",  # before year 1 in UTC
        b'"' + b"x" * 200_000 + b'",manual,',  # a giant cell, past the csv module's 131,072 characters
        b"\xff\xfe@example.com,manual,",  # not UTF-8
    ]
    body = b"\n".join([b"email,reason,expires_at", *good[:1500], *bad, *good[1500:]]) + b"\n"
    status, answer, peak = service.measured(Case("import-mixed", "POST", "/v1/suppressions/import", body, CSV))
    assert status == 200, answer[:300]
    result = orjson.loads(answer)
    assert (result["added"], result["invalid"]) == (3000, 4)
    assert [row["line"] for row in result["invalid_rows"]] == [1502, 1503, 1504, 1505]
    export = service.request(Case("export", "GET", "/v1/suppressions?format=csv"))[1].decode().splitlines()[1:]
    stored = sorted(line.split(",")[1] for line in export if line.split(",")[1].startswith("hostile"))
    assert stored == sorted(row.split(b",")[0].decode() for row in good)
    assert peak < REQUEST_MEMORY
