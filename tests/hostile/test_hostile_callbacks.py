"""Job callback URLs that spell a loopback, private or link-local address, thrown at the real
service (``validator serve``, a child process with a job worker): each is refused at submission
with a 4xx naming ``callback_url``, and listeners on 127.0.0.1 and ::1 hear no connection. A
service that allows 127.0.0.1 does reach such a listener: it would have heard a callback that got
through. (Names that resolve to loopback are refused when sending, on the connected address:
``tests/integration/test_callback_ssrf.py``, with the sender pointed at a test DNS server.)

IDNA (UTS #46) folds ideographic full stops, circled and full-width digits into ASCII, and
inet_aton reads decimal, octal, hexadecimal and short forms: yarl, which the sender uses, turned
``http://127。0。0。1/`` into a request to 127.0.0.1 while the guard saw a name.
"""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Iterator

import orjson
import pytest

try:  # tests/ is not a package: pytest puts this directory on sys.path ("prepend" import mode)
    from nasty import JSON, Case, Service
except ImportError:  # pragma: no cover - when run with the project root on sys.path instead
    from tests.hostile.nasty import JSON, Case, Service


class Listener(socketserver.ThreadingTCPServer):
    """Counts the connections it accepts and answers any request 204."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: str) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.accepted = 0
        super().__init__((host, 0), _Answer)
        self.port = self.server_address[1]
        threading.Thread(target=self.serve_forever, daemon=True).start()


class _Answer(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        self.server.accepted += 1  # type: ignore[attr-defined]
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass
        self.wfile.write(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")


@pytest.fixture(scope="module")
def listeners() -> Iterator[tuple[Listener, Listener]]:
    v4, v6 = Listener("127.0.0.1"), Listener("::1")
    yield v4, v6
    for listener in (v4, v6):
        listener.shutdown()
        listener.server_close()


@pytest.fixture(scope="module")
def service(dns_server) -> Iterator[Service]:
    running = Service(
        dns_server.address,
        environment={"VALIDATOR_JOB_WORKERS": "1"},
    )
    yield running
    running.close()


def _spellings(v4: int, v6: int) -> dict[str, str]:
    """Every spelling of a loopback, private or link-local address some parser on the way reads as one."""
    return {
        "ideographic-full-stops": f"http://127。0。0。1:{v4}/h",  # U+3002, folded to "." by IDNA
        "circled-digits": f"http://①②⑦.0.0.1:{v4}/h",  # NFKC folds ① to 1
        "fullwidth-digits": f"http://１２７.０.０.１:{v4}/h",  # U+FF11...
        "fullwidth-full-stops": f"http://127．0．0．1:{v4}/h",  # U+FF0E
        "halfwidth-ideographic-stops": f"http://127｡0｡0｡1:{v4}/h",  # U+FF61
        "decimal": f"http://2130706433:{v4}/h",  # one 32-bit number (inet_aton)
        "octal": f"http://0177.0.0.1:{v4}/h",
        "octal-padded": f"http://0000177.0.0.01:{v4}/h",
        "hexadecimal": f"http://0x7f.0.0.1:{v4}/h",
        "hexadecimal-whole": f"http://0x7f000001:{v4}/h",
        "short-form": f"http://127.1:{v4}/h",
        "trailing-dot": f"http://127.0.0.1.:{v4}/h",
        "percent-encoded": f"http://%31%32%37.0.0.1:{v4}/h",
        "userinfo-decoy": f"http://hooks.example.com@127.0.0.1:{v4}/h",
        "ipv4-mapped": f"http://[::ffff:127.0.0.1]:{v4}/h",
        "ipv4-mapped-hex": f"http://[::ffff:7f00:1]:{v4}/h",
        "ipv4-compatible": f"http://[::127.0.0.1]:{v4}/h",
        "nat64": f"http://[64:ff9b::127.0.0.1]:{v4}/h",
        "ipv6-loopback": f"http://[::1]:{v6}/h",
        "ipv6-loopback-long": f"http://[0:0:0:0:0:0:0:1]:{v6}/h",
        "ipv6-zone": f"http://[::1%25lo]:{v6}/h",
        "unspecified": f"http://0.0.0.0:{v4}/h",  # connect() to 0.0.0.0 reaches the local host
        "unspecified-short": f"http://0:{v4}/h",
        "localhost": f"http://localhost:{v4}/h",
        "localhost-subdomain": f"http://a.localhost:{v4}/h",
        "metadata-ideographic": "http://169。254。169。254/latest/meta-data/",  # cloud instance metadata
        "metadata-decimal": "http://2852039166/latest/meta-data/",
        "private-fullwidth": "http://１０.０.０.１/",
        "private-ipv4-mapped": "http://[::ffff:10.0.0.1]/",
        "unique-local": "http://[fd00::1]/",
        "link-local-v6": "http://[fe80::1]/",
    }


_IDS = list(_spellings(1, 2))


@pytest.mark.parametrize("name", _IDS)
def test_a_callback_url_spelling_loopback_is_refused_at_submission(
    service: Service, listeners: tuple[Listener, Listener], name: str
) -> None:
    v4, v6 = listeners
    url = _spellings(v4.port, v6.port)[name]
    body = orjson.dumps({"emails": ["a@example.com"], "callback_url": url})
    status, answer = service.request(Case(name, "POST", "/v1/jobs", body, JSON))
    assert 400 <= status < 500, answer[:300]
    error = orjson.loads(answer)["error"]
    assert (error["code"], error["field"]) == ("invalid_field", "callback_url"), error
    assert (v4.accepted, v6.accepted) == (0, 0)


def _finished(service: Service, job_id: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = orjson.loads(service.request(Case("job", "GET", f"/v1/jobs/{job_id}"))[1])
        if job["status"] == "completed" and job.get("callback"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish with its callback sent or failed: {job}")


def test_the_same_listener_hears_a_callback_the_operator_allows(dns_server) -> None:
    """The positive control: a service allowing 127.0.0.1 sends a job's callback there, through the
    same job worker and sender, and a listener like those above hears it."""
    listener = Listener("127.0.0.1")
    allowing = Service(
        dns_server.address, environment={"VALIDATOR_JOB_WORKERS": "1", "VALIDATOR_JOB_CALLBACK_ALLOW": "127.0.0.1/32"}
    )
    try:
        body = orjson.dumps({"emails": ["a@example.com"], "callback_url": f"http://127.0.0.1:{listener.port}/h"})
        status, answer = allowing.request(Case("allowed", "POST", "/v1/jobs", body, JSON))
        assert status == 202, answer[:300]
        assert _finished(allowing, orjson.loads(answer)["id"])["callback"] == "sent 204"
        assert listener.accepted == 1
    finally:
        allowing.close()
        listener.shutdown()
        listener.server_close()
