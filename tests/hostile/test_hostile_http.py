"""Malformed HTTP heads at the real service: a request line or header field past aiohttp's 8,190
bytes, too many fields, a body coding it cannot decode, TLS or garbage on the plain-HTTP port.
aiohttp's parser refuses them before any request exists; ``api/parser_errors.py`` has that answer
in the service's one error shape: each is a 400 ``malformed_request`` in JSON, naming the problem
without echoing the request, and a closed connection, never a 5xx, counted as a malformed request,
and the service goes on answering. Just below the limits the same requests reach the application."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator

import orjson
import pytest

try:  # tests/ is not a package: pytest puts this directory on sys.path ("prepend" import mode)
    from nasty import Case, Service
except ImportError:  # pragma: no cover - when run with the project root on sys.path instead
    from tests.hostile.nasty import Case, Service

LINE_LIMIT = 8190  # aiohttp's max_line_size and max_field_size defaults


@pytest.fixture(scope="module")
def service(dns_server) -> Iterator[Service]:
    running = Service(dns_server.address)
    yield running
    running.close()


def _exchange(service: Service, head: bytes) -> bytes:
    """Sends a raw request head and reads until the service closes the connection."""
    with socket.create_connection(("127.0.0.1", service.port), timeout=10) as connection:
        connection.sendall(head)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


def _malformed_count(service: Service) -> float:
    metrics = service.request(Case("metrics", "GET", "/metrics"))[1].decode()
    found = re.search(r'^validator_http_client_errors_total\{kind="malformed"\} (\S+)$', metrics, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


_PATH = "/v1/suppressions/{}@example.com"
_HEADS = {
    "request-line": (b"GET " + _PATH.format("a" * LINE_LIMIT).encode() + b" HTTP/1.1\r\nHost: h\r\n\r\n", "longer"),
    "header-field": (b"GET /healthz HTTP/1.1\r\nHost: h\r\nX-Big: " + b"a" * (LINE_LIMIT + 1) + b"\r\n\r\n", "longer"),
    "header-count": (
        b"GET /healthz HTTP/1.1\r\nHost: h\r\n" + b"".join(b"X-%d: a\r\n" % i for i in range(200)) + b"\r\n",
        "",
    ),
    "brotli-body": (
        b"POST /v1/validate HTTP/1.1\r\nHost: h\r\nContent-Encoding: br\r\nContent-Length: 4\r\n\r\nabcd",
        "Content-Encoding",
    ),
    "tls-client-hello": (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40, "TLS"),
    "not-http": (b"GARBAGE\r\n\r\n", ""),
    "bad-content-length": (b"POST /v1/validate HTTP/1.1\r\nHost: h\r\nContent-Length: -5\r\n\r\n", ""),
}


@pytest.mark.parametrize("name", list(_HEADS))
def test_a_head_the_parser_refuses_is_a_json_400_and_counted(service: Service, name: str) -> None:
    before = _malformed_count(service)
    sent, words = _HEADS[name]
    answer = _exchange(service, sent)
    status_line, _, rest = answer.partition(b"\r\n")
    head, _, body = rest.partition(b"\r\n\r\n")
    assert status_line.split(b" ", 2)[1] == b"400", answer[:300]
    assert b"content-type: application/json" in head.lower(), head
    error = orjson.loads(body)["error"]
    assert error["code"] == "malformed_request" and words in error["message"], error
    assert b"aaaa" not in body and b"Brotli" not in body  # the request is not echoed, nor aiohttp's advice
    assert service.alive
    # a first request that is no HTTP at all (TLS, a scanner's bytes) is internet noise: aiohttp logs it at
    # DEBUG, so it is not counted either
    noise = name in ("tls-client-hello", "not-http")
    assert _malformed_count(service) == before + (0 if noise else 1)


def test_just_below_the_limits_the_application_answers_in_json(service: Service) -> None:
    local = "a" * 64  # a valid local part: the longest RFC 5321 §4.5.3.1.1 allows
    status, body = service.request(Case("long-path", "GET", _PATH.format(local) + "?x=" + "b" * 7900))
    assert (status, orjson.loads(body)["error"]["code"]) == (404, "not_found"), body[:300]  # no such entry
    big_header = Case("big-header", "GET", "/healthz", headers={"X-Big": "a" * (LINE_LIMIT - 100)})
    assert service.request(big_header)[0] == 200
