"""Clients that stall, vanish or speak broken HTTP, on real sockets against the real service.

A stalled body is answered 408 and its connection closed after ``VALIDATOR_BODY_IDLE_TIMEOUT``;
a slow but steady one is served. A client that goes away, or sends malformed HTTP, is logged in
one INFO line (no traceback) and counted in ``validator_http_client_errors_total``, never as a 500.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time

import pytest

from tests.support.processes import VALIDATOR, env_for, free_port, wait_for

IDLE = 0.5  # seconds; the default is 10


class Service:
    """``validator serve`` in its own process (as deployed: aiohttp does not cancel handlers)."""

    def __init__(self, process: subprocess.Popen, port: int, log_path) -> None:
        self.process, self.port, self._log_path = process, port, log_path

    def log(self) -> str:
        return self._log_path.read_text()

    async def client_errors(self, kind: str) -> int:
        return int(_counter(await _metrics(self.port), f'validator_http_client_errors_total{{kind="{kind}"}}'))


def _counter(metrics: str, name: str) -> float:
    return next(float(line.split()[-1]) for line in metrics.splitlines() if line.startswith(name + " "))


@pytest.fixture(scope="module")
def server(dns_server, tmp_path_factory):
    """One service for the module (a process start costs seconds); tests compare counters before and after."""
    yield from _serve(dns_server, tmp_path_factory.mktemp("slow"))


def _serve(dns_server, tmp_path, **settings: str):
    port, log_path = free_port(), tmp_path / "serve.log"
    env = env_for(
        dns_server,
        VALIDATOR_DATABASE_URL=f"sqlite:///{tmp_path}/v.sqlite3",
        VALIDATOR_BODY_IDLE_TIMEOUT=str(IDLE),
        VALIDATOR_LOG_LEVEL="debug",
        VALIDATOR_AUTH="false",
        **settings,
    )
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [*VALIDATOR, "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz", time.monotonic() + 20)
        yield Service(process, port, log_path)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def _errors_in(log: str) -> list[str]:
    return [line for line in log.splitlines() if " ERROR " in line or " WARNING " in line or "Traceback" in line]


def _head(path: str, length: int, content_type: str = "application/json") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: {content_type}\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


async def _stall(port: int, path: str, sent: int, length: int) -> tuple[bytes, bool]:
    """Send the head and ``sent`` bytes of a ``length``-byte body, then nothing: the answer, and
    whether the service then closed the connection (EOF within a second)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(_head(path, length) + b" " * sent)
    await writer.drain()
    try:
        answer = await asyncio.wait_for(reader.readuntil(b"}}"), IDLE * 8)  # an error body ends so
        try:
            return answer, await asyncio.wait_for(reader.read(), 1) == b""
        except TimeoutError:
            return answer, False
    finally:
        writer.close()


async def test_stalled_bodies_are_answered_408_and_closed(server):
    paths = ["/v1/validate", "/v1/validate/batch", "/v1/suppressions/lookup", "/v1/events"]
    answers = await asyncio.gather(*(_stall(server.port, paths[i % 4], 900_000, 1_000_000) for i in range(40)))
    for answer, closed in answers:
        assert answer.startswith(b"HTTP/1.1 408 "), answer[:80]
        assert b'"code":"body_timeout"' in answer and closed


async def _trickle(port: int, body: bytes) -> bytes:
    """A slow but steady body (one byte every IDLE/5 s): it holds its slot without ever going idle."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(_head("/v1/validate", len(body)))
    for byte in body:
        writer.write(bytes([byte]))
        await writer.drain()
        await asyncio.sleep(IDLE / 5)
    answer = await asyncio.wait_for(reader.readuntil(b"\r\n"), 5)
    writer.close()
    return answer


async def test_bodies_beyond_the_slots_wait_then_get_503_busy(dns_server, tmp_path):
    service = _serve(dns_server, tmp_path, VALIDATOR_BODIES_IN_FLIGHT="2")
    server = next(service)
    body = b'{"email": "a@example.com"}'  # 26 bytes: 2.6 s, five idle periods, in a slot all along
    holders = [asyncio.create_task(_trickle(server.port, body)) for _ in range(2)]
    await asyncio.sleep(IDLE / 2)  # both hold their slots
    waiters = await asyncio.gather(*(_stall(server.port, "/v1/validate", 500_000, 1_000_000) for _ in range(4)))
    assert all(answer.startswith(b"HTTP/1.1 503 ") for answer, _ in waiters), waiters
    assert all(b'"code":"busy"' in answer and b"Retry-After: 5" in answer for answer, _ in waiters)
    assert [await holder for holder in holders] == [b"HTTP/1.1 200 OK\r\n"] * 2
    next(service, None)  # stops it


async def test_a_stalled_job_upload_is_answered_408_and_leaves_no_job(server):
    answer, closed = await _stall(server.port, "/v1/jobs", 10_000, 1_000_000)
    assert answer.startswith(b"HTTP/1.1 408 ") and closed
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"GET /v1/jobs HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
    assert (await reader.read()).endswith(b'{"items":[],"next_cursor":null}')
    writer.close()


async def test_a_slow_but_steady_body_is_served(server):
    # one byte every 0.1 s: 2.6 s in all, far past the idle timeout, never idle for it
    assert await _trickle(server.port, b'{"email": "a@example.com"}') == b"HTTP/1.1 200 OK\r\n"


async def _metrics(port: int) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /metrics HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
    text = (await reader.read()).decode()
    writer.close()
    return text


async def test_a_vanished_client_is_logged_quietly_and_counted_apart(server):
    before = await server.client_errors("disconnect")
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(_head("/v1/validate", 1000) + b'{"email": ')
    await writer.drain()
    await asyncio.sleep(0.2)  # the handler is reading the body
    writer.transport.abort()  # RST: the client is gone
    await asyncio.sleep(0.3)
    assert await server.client_errors("disconnect") == before + 1
    assert 'status="500"' not in await _metrics(server.port)
    log = server.log()
    assert "client went away during POST /v1/validate" in log and not _errors_in(log), [
        line for line in log.splitlines() if "validator.access" not in line
    ]


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /healthz HTTP/1.1\r\nHost: test\r\nContent-Length: x\r\n\r\n",  # a non-numeric length
        b"GET /healthz HTTP/1.1\r\nHost: test\r\nBad Header: 1\r\n\r\n",  # a space in a field name
        b"POST /v1/validate HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",  # a broken chunk size
    ],
    ids=["length", "field-name", "chunked"],
)
async def test_malformed_http_is_a_logged_400_not_an_error(server, request_bytes):
    before = await server.client_errors("malformed")
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    # after one good request on the connection: aiohttp quietens only a bad *first* request line itself
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
    first = await asyncio.wait_for(reader.readuntil(b'{"status":"ok"}'), 5)
    writer.write(request_bytes)
    answer = first + await asyncio.wait_for(reader.read(), 5)
    writer.close()
    assert answer.count(b"HTTP/1.1 200 ") == 1 and b" 400 Bad Request\r\n" in answer, answer
    assert await server.client_errors("malformed") == before + 1
    log = server.log()
    assert "Error handling request" in log and not _errors_in(log), log
