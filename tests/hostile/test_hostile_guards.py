"""Attempts to get past the guards of the real service (``validator serve`` with authentication on,
a child process), over raw sockets where a client library would tidy the request up first.

Each attempt is answered with a 4xx and a machine-readable code, never a 5xx, and never with more
than the key allows; an export opened in a spreadsheet starts no formula wherever the spreadsheet
may split it into cells. Path tricks, header spellings and callback URLs that were tried and held
are listed in docs/guards.md.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from validator.store import open_store

try:  # tests/ is not a package: pytest puts this directory on sys.path ("prepend" import mode)
    from nasty import CSV, JSON, Case, Service
except ImportError:  # pragma: no cover - when run with the project root on sys.path instead
    from tests.hostile.nasty import CSV, JSON, Case, Service

BASIC_PROVIDERS = ("postmark", "sparkpost", "mailjet")  # webhooks that carry HTTP Basic credentials
BASIC = {
    f"VALIDATOR_{provider.upper()}_WEBHOOK_{part}": value
    for provider in BASIC_PROVIDERS
    for part, value in (("USER", provider), ("PASSWORD", "s3cret"))
}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # OWASP CSV Injection
SHOP = "https://shop.example"


async def _keys(url: str) -> dict[str, str]:
    store = await open_store(url)
    try:
        return {
            "admin": (await store.create_api_key("ops", ["admin"]))[1],
            "validate": (await store.create_api_key("form", ["validate"]))[1],
            "pk": (await store.create_api_key("signup", ["publishable", f"origin:{SHOP}"]))[1],
        }
    finally:
        await store.close()


@pytest.fixture(scope="module")
def guarded(dns_server, tmp_path_factory) -> Iterator[tuple[Service, dict[str, str]]]:
    workdir = tmp_path_factory.mktemp("guards")
    url = f"sqlite:///{workdir}/guards.sqlite3"
    tokens = asyncio.run(_keys(url))
    running = Service(
        dns_server.address,
        workdir=str(workdir),
        database_url=url,
        environment={"VALIDATOR_AUTH": "true", "VALIDATOR_JOB_WORKERS": "1", **BASIC},
    )
    yield running, tokens
    running.close()


def _exchange(service: Service, method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes) -> bytes:
    """One request written byte for byte (repeated and non-UTF-8 fields included); the whole answer."""
    head = b"%s %s HTTP/1.1\r\nHost: h\r\nConnection: close\r\n" % (method.encode(), path.encode())
    head += b"".join(name + b": " + value + b"\r\n" for name, value in headers)
    head += b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
    with socket.create_connection(("127.0.0.1", service.port), timeout=10) as connection:
        connection.sendall(head + body)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


def _status_and_error(answer: bytes) -> tuple[int, str]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, orjson.loads(body)["error"]["code"] if status >= 400 else ""


def _log(service: Service, since: int = 0) -> str:
    """The service's log from byte ``since`` on."""
    with open(service.workdir / "service.log", "rb") as log:
        log.seek(since)
        return log.read().decode(errors="replace")


def _log_size(service: Service) -> int:
    return (service.workdir / "service.log").stat().st_size


# Bytes that are not UTF-8 (aiohttp hands them over as lone surrogates), and UTF-8 that is not ASCII.
_NOT_ASCII = {"invalid-utf8": b"\xff\xfe", "encoded-surrogate": b"\xed\xa0\x80", "accented": b"\xc3\xa9"}


@pytest.mark.parametrize("spelling", list(_NOT_ASCII))
@pytest.mark.parametrize("route", [("GET", "/v1/keys"), ("POST", "/v1/validate")], ids=["keys", "validate"])
def test_a_bearer_token_that_is_not_ascii_is_401_not_500(guarded, spelling, route) -> None:
    service, _ = guarded
    token = b"vk_0123456789abcdef_" + _NOT_ASCII[spelling] * 22  # the shape of a token around the bytes
    before = _log_size(service)
    answer = _exchange(service, *route, [(b"Authorization", b"Bearer " + token)], b'{"email":"a@example.com"}')
    assert _status_and_error(answer) == (401, "unauthorized"), answer[:300]
    assert "Traceback" not in _log(service, before)


@pytest.mark.parametrize("spelling", list(_NOT_ASCII))
@pytest.mark.parametrize("provider", BASIC_PROVIDERS)
def test_basic_credentials_that_are_not_ascii_are_401_not_500(guarded, provider, spelling) -> None:
    service, _ = guarded
    header = [(b"Authorization", b"Basic " + _NOT_ASCII[spelling] * 8)]
    before = _log_size(service)
    answer = _exchange(service, "POST", f"/v1/webhooks/{provider}", header, b"{}")
    assert _status_and_error(answer) == (401, "invalid_signature"), answer[:300]
    assert "Traceback" not in _log(service, before)


@pytest.mark.parametrize("admin_first", [True, False], ids=["admin-first", "admin-last"])
def test_two_authorization_fields_are_refused_whichever_comes_first(guarded, admin_first) -> None:
    """RFC 9110 §5.3: Authorization is a singleton. We read the first field, a proxy in front may
    read the last; so a narrow key beside an admin key gets nothing, in either order."""
    service, tokens = guarded
    fields = [(b"Authorization", b"Bearer " + tokens[name].encode()) for name in ("admin", "validate")]
    answer = _exchange(service, "GET", "/v1/keys", fields if admin_first else fields[::-1], b"")
    assert _status_and_error(answer) == (401, "unauthorized"), answer[:300]


def _admin(
    service: Service, tokens: dict[str, str], method: str, path: str, body: bytes = b"", kind: str = JSON
) -> bytes:
    """The body of a request the admin key makes, which must succeed."""
    key = {"Authorization": f"Bearer {tokens['admin']}"}
    status, answer = service.request(Case(path, method, path, body, kind, key))
    assert status < 300, answer[:300]
    return answer


def _cells_in_every_split(text: str) -> list[str]:
    """The cells of ``text`` read with "," (as written), ";" (Excel's list separator in de, fr, es...)
    and TAB: a reader with another separator honours our quotes only where a field starts with one."""
    found = []
    for delimiter in (",", ";", "\t"):
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            found.extend(row)
    return found


# Free text an export carries (a source, an SMTP reply's detail), each starting a cell mid-text.
_PAYLOADS = {
    "semicolon-dde@example.com": ("x;=cmd|' /C calc'!A0;", "550 5.1.1 user unknown"),
    "semicolon-link@example.com": ("api", "550 gone;=HYPERLINK(CHAR(104)&CHAR(116));"),
    "quoted-split@example.com": ('a;"=1+1";', "ok"),
    "tab-split@example.com": ("api", "550 5.1.1 a\t@SUM(1+1)"),
    "line-split@example.com": ("api", "550-5.1.1 first line\n-2+3 second line\r\n=4+5"),
}


def test_a_suppression_export_starts_no_formula_under_any_separator_and_reimports_exactly(guarded) -> None:
    service, tokens = guarded
    for address, (source, detail) in _PAYLOADS.items():
        body = orjson.dumps({"reason": "manual", "source": source, "detail": detail})
        _admin(service, tokens, "PUT", f"/v1/suppressions/{address}", body)
    exported = _admin(service, tokens, "GET", "/v1/suppressions?format=csv").decode()
    for cell in _cells_in_every_split(exported):
        assert not cell.startswith(FORMULA_STARTS), cell

    for address in _PAYLOADS:
        _admin(service, tokens, "DELETE", f"/v1/suppressions/{address}")
    _admin(service, tokens, "POST", "/v1/suppressions/import", exported.encode(), CSV)
    for address, (source, detail) in _PAYLOADS.items():
        entry = orjson.loads(_admin(service, tokens, "GET", f"/v1/suppressions/{address}"))
        assert (entry["source"], entry["detail"]) == (source, detail.strip()), entry


def test_job_results_csv_starts_no_formula_under_any_separator(guarded) -> None:
    service, tokens = guarded
    # an address typed into a signup form by an attacker, uploaded with the rest of the list
    upload = b"email\n\"x;=cmd|' /C calc'!A0; <a@example.com>\"\nb@example.com\n"
    job = orjson.loads(_admin(service, tokens, "POST", "/v1/jobs", upload, CSV))
    deadline = time.monotonic() + 30
    while orjson.loads(_admin(service, tokens, "GET", f"/v1/jobs/{job['id']}"))["status"] != "completed":
        assert time.monotonic() < deadline, "the job did not finish"
        time.sleep(0.05)
    text = _admin(service, tokens, "GET", f"/v1/jobs/{job['id']}/results?format=csv").decode()
    assert "cmd|" in text  # the row is there, as text
    for cell in _cells_in_every_split(text):
        assert not cell.startswith(FORMULA_STARTS), cell


def test_a_key_bound_to_an_internationalised_origin_works_from_that_page(guarded) -> None:
    """A browser on https://bücher.example sends ``Origin: https://xn--bcher-kva.example``; the key
    was stored with the Unicode name and refused its own page. A look-alike is still refused."""
    service, tokens = guarded
    body = orjson.dumps({"name": "shop-de", "scopes": ["publishable"], "origins": ["https://Bücher.example"]})
    key = orjson.loads(_admin(service, tokens, "POST", "/v1/keys", body))
    assert key["origins"] == ["https://xn--bcher-kva.example"]
    asked = {"Authorization": f"Bearer {key['token']}"}
    for origin, status in (("https://xn--bcher-kva.example", 200), ("https://xn--bcher-kva.example.evil.example", 403)):
        answer = service.request(
            Case(origin, "POST", "/v1/validate", b'{"email":"a@example.com"}', JSON, {**asked, "Origin": origin})
        )
        assert answer[0] == status, answer
    preflight = Case("preflight", "OPTIONS", "/v1/validate", headers={"Origin": "https://xn--bcher-kva.example"})
    assert service.request(preflight)[0] == 204


def _malformed_heads(token: bytes) -> dict[str, bytes]:
    """Requests aiohttp's parser refuses, quoting the offending line in its error: each carries a
    whole valid token or address, as a client with one stray byte or one bug would send it."""
    path = b"/v1/suppressions/jane.doe@example.com"
    return {
        "token-with-a-control-byte": b"GET %s HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer %s\x01\r\n\r\n"
        % (path, token),
        "token-in-an-overlong-field": b"GET /v1/keys HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer %s%s\r\n\r\n"
        % (token, b"a" * 8200),
        "address-in-a-bad-request-line": b"GET %s?why=gone HTTP/1.1 x\r\nHost: h\r\n\r\n" % path,
        "address-before-a-nul": b"GET %s\x00 HTTP/1.1\r\nHost: h\r\n\r\n" % path,
        "basic-credentials-with-a-control-byte": b"POST /v1/webhooks/postmark HTTP/1.1\r\nHost: h\r\n"
        b"Authorization: Basic cG9zdG1hcms6czNjcmV0\x01\r\n\r\n",
    }


@pytest.mark.parametrize("name", list(_malformed_heads(b"")))
def test_a_malformed_request_is_logged_without_the_token_or_address_it_carried(guarded, name) -> None:
    """aiohttp's parser errors quote the line they stopped at; the service logs them at INFO (one
    line, counted). Quoted whole, they put an API key's secret or an address in the service log."""
    service, tokens = guarded
    token = tokens["admin"].encode()
    before = _log_size(service)
    with socket.create_connection(("127.0.0.1", service.port), timeout=10) as connection:
        connection.sendall(_malformed_heads(token)[name])
        assert connection.recv(65536).startswith(b"HTTP/1.")  # answered 400
    time.sleep(0.3)  # the log line is written after the answer
    logged = _log(service, before)
    assert "Error handling request" in logged  # the line is there, with why
    secret = tokens["admin"].split("_", 2)[2]  # vk_<id>_<secret>: the secret may hold "_" itself
    for withheld in (secret, secret[:12], "jane.doe", "czNjcmV0", "cG9zdG1hcms6", "why=gone"):
        assert withheld not in logged, logged


def _cpu_seconds(service: Service) -> float:
    """User and system CPU time the service has used (proc(5): utime and stime, in clock ticks)."""
    fields = Path(f"/proc/{service.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _from_client(service: Service, number: int, request: bytes) -> bytes:
    """``request`` sent from the loopback address numbered ``number`` (127.1.0.0 on: all of 127/8 is
    this host's), as many clients on the internet would; the status code."""
    source = f"127.{1 + number // 65536}.{number // 256 % 256}.{number % 256}"
    with socket.create_connection(("127.0.0.1", service.port), timeout=10, source_address=(source, 0)) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer[9:12]


def test_a_widget_key_used_from_many_addresses_costs_the_same_for_each(guarded) -> None:
    """The per-client buckets were swept on every request once 10,000 clients were known within a
    minute: the 3,000 requests after 11,000 addresses cost 3.5 times the CPU of the first 3,000
    (20,000 more clients: 16 s of the event loop). Anyone can read the key and claim the origin."""
    service, tokens = guarded
    request = (
        b"POST /v1/validate HTTP/1.1\r\nHost: h\r\nConnection: close\r\nOrigin: %s\r\n"
        b"Authorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
    ) % (SHOP.encode(), tokens["pk"].encode())
    costs, statuses = [], set()
    for first, last, measured in ((0, 3000, True), (3000, 11_000, False), (11_000, 14_000, True)):
        before = _cpu_seconds(service)
        statuses.update(_from_client(service, number, request) for number in range(first, last))
        if measured:
            costs.append(_cpu_seconds(service) - before)
    assert statuses <= {b"400", b"429"}  # admitted (an empty body) or limited: never a 5xx
    assert costs[1] < 2 * costs[0] + 0.2, f"{costs[1]:.2f} s of CPU for the last 3,000 against {costs[0]:.2f} s"
