"""Hostile requests for every endpoint that reads a body, a query or a path, and the real service to
throw them at: ``validator serve`` as a child process, its resident memory read from /proc.

Shared by ``tests/hostile`` (the corpus at ``scale=1``) and ``python -m bench hostile`` (longer runs:
larger bodies and seeded random mutations). Each request is answered or refused; what a request may
cost is measured as the peak resident set above the process's size just before it (the kernel's
high-water mark, reset per request through /proc/PID/clear_refs, Documentation/filesystems/proc.rst).
"""

from __future__ import annotations

import http.client
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

MIB = 1 << 20
JSON, CSV, NDJSON = "application/json", "text/csv", "application/x-ndjson"


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str
    body: bytes = b""
    content_type: str = JSON
    headers: dict[str, str] = field(default_factory=dict)


def _deep(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


def _json_bodies(scale: int) -> dict[str, bytes]:
    """Bodies for the JSON endpoints (each is put where an address list, an option or a time goes)."""
    huge = b"9" * 4301  # one digit past Python's int conversion limit: crashed ijson's C backend
    return {
        "deep-array": b'{"emails":' + _deep(16_000 * scale) + b"}",
        "deep-object": b'{"emails":' + b'{"a":' * 16_000 * scale + b"1" + b"}" * 16_000 * scale + b"}",
        "huge-integer": b'{"emails":[' + huge + b"]}",
        "huge-integer-option": b'{"smtp":' + huge + b',"emails":[]}',
        "huge-negative-exponent": b'{"emails":[1e-' + huge + b"]}",
        "huge-string": b'{"emails":["' + b"a" * (4 * MIB * scale) + b'"]}',
        "many-escapes": b'{"emails":["' + b"\\u0000" * (200_000 * scale) + b'"]}',
        "invalid-utf8": b'{"emails":["\xff\xfe@example.com"]}',
        "control-characters": b'{"emails":["a\\u0000b@example.com","c\\r\\nd@example.com","\\u001b[2J@x.com"]}',
        "truncated": b'{"emails":["a@example.com"',
        "not-json": b"\x00\x01\x02" * 1000,
        "empty": b"",
    }


def _csv_bodies(scale: int) -> dict[str, bytes]:
    rows = b"".join(b"user%d@example.com\n" % i for i in range(20_000 * scale))
    return {
        "stray-quote": b'email\na@example.com\n"b@example.com\n' + rows,
        "quote-inside-cell": b'email\na"b@example.com\n' + rows,
        "giant-line": b"email\n" + b"a" * (8 * MIB * scale) + b"\nb@example.com\n",
        "giant-quoted-cell": b'email\n"' + b"a" * (8 * MIB * scale) + b'"\nb@example.com\n',
        "quotes-only": b'"' * (4 * MIB * scale),
        "many-columns": b",".join([b"x"] * (500_000 * scale)) + b"\n",
        "nul-and-bad-utf8": b"email\na\x00b@example.com\n\xff\xfe@example.com\nc@example.com\n",
        "lone-cr-lines": b"email\r" + rows.replace(b"\n", b"\r"),
    }


_REPORT_HEAD = (  # an RFC 3464 bounce up to its returned original: the shapes below grow one piece of it
    b"From: MAILER-DAEMON@mx.example.org\r\nTo: sender@example.com\r\nSubject: Undelivered Mail\r\n"
    b'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
    b"--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n\r\n"
    b"--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\n"
    b"Final-Recipient: rfc822; gone@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
    b"--B\r\nContent-Type: message/rfc822\r\n\r\nFrom: sender@example.com\r\nTo: gone@example.net\r\n\r\n"
)
_HEAD = b"From: MAILER-DAEMON@mx.example.org\nSubject: Undelivered Mail\n"


def _message_bodies(scale: int) -> dict[str, bytes]:
    """Raw messages for /v1/bounces of about 8 MiB: the email package costs 10 to 65 times what it parses,
    most in short lines, parts and field blocks (each a Python object)."""
    size = 8 * MIB * scale
    return {
        "huge-original": _REPORT_HEAD + (b"A" * 76 + b"\r\n") * (size // 78) + b"--B--\r\n",
        "short-lines-original": _REPORT_HEAD + b"a\r\n" * (size // 3) + b"--B--\r\n",
        "many-parts": _HEAD + b"Content-Type: multipart/mixed; boundary=b\n\n" + b"--b\n\n" * (size // 5),
        "many-header-fields": _HEAD + b"X: y\n" * (size // 5) + b"\nbody\n",
        "giant-header-field": _HEAD + b"X-Big: " + b"y" * size + b"\n\nbody\n",
        "many-short-lines": _HEAD + b"\n" + b"x\n" * (size // 2),
        "many-status-blocks": _HEAD + b"Content-Type: message/delivery-status\n\n" + b"X: y\n\n" * (size // 6),
        "deep-multiparts": _HEAD
        + b"".join(b"Content-Type: multipart/mixed; boundary=%d\n\n--%d\n" % (i, i) for i in range(size // 64)),
        "deep-messages": _HEAD
        + b"Content-Type: message/rfc822\n\n"
        + b"From: a@b.c\nContent-Type: message/rfc822\n\n" * (size // 45),
        "boundary-lookalikes": _HEAD + b"Content-Type: multipart/mixed; boundary=b\n\n--b\n\n" + b"--c\n" * (size // 4),
        # blank lines: "^\s*" searches of the notice were quadratic in them (test_bounce_cpu.py)
        "blank-lines": _HEAD + b"X-Failed-Recipients: kijitora@example.org\n\n" + b"  \n" * (size // 3),
    }


def cases(scale: int = 1) -> list[Case]:
    """The corpus: every endpoint that reads a body, a query or a path, with the inputs above."""
    found: list[Case] = []
    for name, body in _json_bodies(scale).items():
        found.append(Case(f"jobs-json-{name}", "POST", "/v1/jobs", body))
        for path in ("/v1/validate", "/v1/validate/batch", "/v1/suppressions/lookup", "/v1/events", "/v1/keys"):
            found.append(Case(f"{path.strip('/').replace('/', '-')}-{name}", "POST", path, body))
        found.append(Case(f"put-suppression-{name}", "PUT", "/v1/suppressions/a@example.com", body))
    for name, body in _csv_bodies(scale).items():
        found.append(Case(f"jobs-csv-{name}", "POST", "/v1/jobs", body, CSV))
        found.append(Case(f"jobs-ndjson-{name}", "POST", "/v1/jobs", body, NDJSON))
        found.append(Case(f"import-{name}", "POST", "/v1/suppressions/import", body, CSV))
        found.append(Case(f"events-ndjson-{name}", "POST", "/v1/events", body[:MIB], NDJSON))
        found.append(Case(f"bounce-{name}", "POST", "/v1/bounces", body, "message/rfc822"))
    for name, body in _message_bodies(scale).items():
        found.append(Case(f"bounce-message-{name}", "POST", "/v1/bounces", body, "message/rfc822"))
    huge, far = "9" * 4301, "0001-01-01T00:00:00%2B14:00"  # "+" must be escaped in a query
    queries = {
        "jobs-column-index": ("POST", f"/v1/jobs?column_index={huge}"),
        "jobs-column-index-superscript": ("POST", "/v1/jobs?column_index=%C2%B2"),
        "jobs-list-limit": ("GET", f"/v1/jobs?limit={huge}"),
        "jobs-list-cursor": ("GET", "/v1/jobs?cursor=" + "%FF" * 1000),
        "suppressions-limit": ("GET", f"/v1/suppressions?limit={huge}"),
        "suppressions-cursor-64-bits": ("GET", "/v1/suppressions?cursor=czE6OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5"),
        "suppressions-since": ("GET", f"/v1/suppressions?since={far}"),
        "reports-since": ("GET", f"/v1/reports/bounce-rates?since={far}"),
        "reports-until": ("GET", "/v1/reports/bounce-rates?until=9999-12-31T23:59:59-14:00"),
        "events-cursor-superscript": ("GET", "/v1/events?cursor=%C2%B2"),  # str.isdigit() is true, int() fails
        "events-limit": ("GET", f"/v1/events?limit={huge}"),
        "keys-path-garbage": ("DELETE", "/v1/keys/%00%FF" + "9" * 5000),
        "suppression-path-invalid-utf8": ("GET", "/v1/suppressions/%FF%FE@example.com"),
        "suppression-path-control": ("GET", "/v1/suppressions/a%0D%0Ab@example.com"),
        "suppression-path-long": (
            "GET",
            "/v1/suppressions/" + "a" * 8000 + "@example.com",
        ),  # aiohttp's line limit 8,190
        "domain-path-invalid-utf8": ("GET", "/v1/suppressions/domains/%FF%FE.example"),
        "job-path-garbage": ("GET", "/v1/jobs/%00%FF" + "9" * 5000),
        "results-format": ("GET", "/v1/jobs/0661eb28405e3bffeefe9ea9/results?format=%00"),
        "webhook-provider-garbage": ("POST", "/v1/webhooks/%FF%00" + "x" * 5000),
    }
    for name, (method, path) in queries.items():
        found.append(Case(f"query-{name}", method, path, b"a@example.com\n" if method == "POST" else b"", CSV))
    return found


def mutations(seed: int, count: int) -> Iterator[Case]:
    """Seeded random mutations of the corpus's small bodies (bench only): flipped, cut, repeated bytes."""
    rng = random.Random(seed)
    small = [case for case in cases() if len(case.body) < 64 * 1024]
    for number in range(count):
        case = rng.choice(small)
        body = bytearray(case.body)
        for _ in range(rng.randint(1, 8)):
            where = rng.randrange(len(body) + 1)
            action = rng.randrange(3)
            if action == 0 and body:
                body[min(where, len(body) - 1)] = rng.randrange(256)
            elif action == 1:
                del body[where : where + rng.randint(1, 16)]
            else:
                body[where:where] = bytes(
                    rng.choice(b'"[]{},\\\n\r9') for _ in range(rng.randint(1, 64))
                ) * rng.randint(1, 500)
        yield Case(f"{case.name}-mutation-{number}", case.method, case.path, bytes(body), case.content_type)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Service:
    """``validator serve`` in a child process on an ephemeral loopback port, with a fresh SQLite store
    unless ``database_url`` names another; ``environment`` adds or overrides ``VALIDATOR_*`` settings."""

    def __init__(
        self,
        dns_address: tuple[str, int],
        workdir: str | None = None,
        database_url: str | None = None,
        environment: dict[str, str] | None = None,
    ) -> None:
        self._tmp = None if workdir else tempfile.TemporaryDirectory(prefix="hostile-")
        self.workdir = Path(workdir or self._tmp.name)  # type: ignore[union-attr]
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("VALIDATOR_")}
        env.update(
            VALIDATOR_PORT=str(self.port),
            VALIDATOR_AUTH="false",
            VALIDATOR_JOB_PROCESS="false",
            VALIDATOR_JOB_WORKERS="0",
            VALIDATOR_DNS_NAMESERVERS=f"{dns_address[0]}:{dns_address[1]}",
            VALIDATOR_DNS_TIMEOUT="0.2",
            VALIDATOR_DATABASE_URL=database_url or f"sqlite:///{self.workdir}/hostile.sqlite3",
        )
        env.update(environment or {})
        self.log = open(self.workdir / "service.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "validator", "serve"], env=env, stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 30
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"validator serve did not start: {(self.workdir / 'service.log').read_text()}")
            time.sleep(0.05)
        self.idle_rss = self.rss()

    def _answers(self) -> bool:
        try:
            return self.request(Case("healthz", "GET", "/healthz"))[0] == 200
        except OSError:
            return False

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def _status(self, key: str) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
        raise LookupError(key)

    def rss(self) -> int:
        return self._status("VmRSS")

    def request(self, case: Case, timeout: float = 300) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            headers = {"Content-Type": case.content_type, **case.headers}
            connection.request(
                case.method, case.path, body=case.body if case.body or case.method != "GET" else None, headers=headers
            )
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def measured(self, case: Case) -> tuple[int, bytes, int]:
        """The status, the body, and the peak resident bytes above the size just before the request."""
        before = self.rss()
        Path(f"/proc/{self.process.pid}/clear_refs").write_text("5")  # resets VmHWM to the current RSS
        status, body = self.request(case)
        return status, body, self._status("VmHWM") - before

    def close(self) -> None:
        if self.alive:
            self.process.terminate()
            self.process.wait(timeout=30)
        self.log.close()
        if self._tmp is not None:
            self._tmp.cleanup()
