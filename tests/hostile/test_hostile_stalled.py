"""Stalled uploads against the real service: connections that send a request's head and most of
a 1 MB body, then nothing. Each holds what arrived; how much is bounded by the body gate's slots
(``VALIDATOR_BODIES_IN_FLIGHT``: a body in a slot is read whole) and, for the others, by what
aiohttp reads from a socket before it pauses it (``body_watch.READ_BUFFER_BYTES``). Every one is
answered, 408 or 503 with a code, once ``VALIDATOR_BODY_IDLE_TIMEOUT`` has passed.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

try:  # tests/ is not a package: pytest puts this directory on sys.path ("prepend" import mode)
    from nasty import MIB, Service
except ImportError:  # pragma: no cover - when run with the project root on sys.path instead
    from tests.hostile.nasty import MIB, Service

CONNECTIONS, SLOTS, BODY, IDLE = 100, 4, 1_000_000, 2.0
# A connection waiting for a slot: aiohttp's first read of the socket (up to 256 KiB, asyncio's
# read size) and its parser's objects. With aiohttp 3.14's default read_bufsize (256 KiB) it read
# on to 512 KiB and one more read before pausing: 0.75 MiB each (300 stalled uploads: 303 MB).
WAITING_MEMORY = 320 * 1024


@pytest.fixture(scope="module")
def service(dns_server) -> Iterator[Service]:
    running = Service(
        dns_server.address,
        environment={"VALIDATOR_BODIES_IN_FLIGHT": str(SLOTS), "VALIDATOR_BODY_IDLE_TIMEOUT": str(IDLE)},
    )
    yield running
    running.close()


async def _stall(port: int) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        "POST /v1/validate HTTP/1.1\r\nHost: hostile\r\nContent-Type: application/json\r\n"
        f"Content-Length: {BODY}\r\n\r\n"
    ).encode()
    writer.write(head + b" " * (BODY - 1024))  # all but the last KB, then silence
    try:  # the answer, not the end of the connection: aiohttp lingers to drain a refused body
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), IDLE * 5)
        length = int(next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))[15:])
        return head + await reader.readexactly(length)
    finally:
        writer.close()


async def _stall_all(service: Service) -> tuple[list[bytes], int]:
    before = service.rss()
    Path(f"/proc/{service.process.pid}/clear_refs").write_text("5")  # VmHWM from here
    tasks = [asyncio.create_task(_stall(service.port)) for _ in range(CONNECTIONS)]
    await asyncio.sleep(IDLE * 0.75)  # every body has arrived as far as it will, none answered yet
    peak = service._status("VmHWM") - before
    return await asyncio.gather(*tasks), peak


def test_stalled_uploads_hold_a_bounded_amount_and_are_all_answered(service: Service) -> None:
    started = time.monotonic()
    answers, peak = asyncio.run(_stall_all(service))
    waiting = CONNECTIONS - SLOTS
    bound = SLOTS * BODY * 1.25 + waiting * WAITING_MEMORY  # a slot's body, with a bytearray's growth
    assert peak < bound, f"{peak / MIB:.1f} MiB above idle for {CONNECTIONS} stalled uploads (bound {bound / MIB:.1f})"
    statuses = collections.Counter(answer.split(b" ", 2)[1] for answer in answers if answer)
    assert statuses == {b"408": SLOTS, b"503": waiting}, statuses
    for answer in answers:
        assert orjson.loads(answer.split(b"\r\n\r\n", 1)[1])["error"]["code"] in ("body_timeout", "busy")
    assert time.monotonic() - started < IDLE * 5
    assert service.alive
