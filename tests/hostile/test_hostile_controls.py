"""Control characters (CR, LF, NUL, ESC) in every free-text field, against the real service on
SQLite and on PostgreSQL alike: refused with a 4xx and a code, nothing of them stored, and the
same request without them accepted (so a refusal is about the character, not the request).

PostgreSQL's text type cannot hold NUL (asyncpg raises ``CharacterNotInRepertoireError``) while
SQLite stores it: a field checked only by the store answered 500 on one backend and kept the
character on the other. Raw messages are bytes, so their NULs are replaced, never refused.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator
from urllib.parse import urlsplit

import asyncpg
import orjson
import pytest

try:  # tests/ is not a package: pytest puts this directory on sys.path ("prepend" import mode)
    from nasty import CSV, JSON, Case, Service
except ImportError:  # pragma: no cover - when run with the project root on sys.path instead
    from tests.hostile.nasty import CSV, JSON, Case, Service


async def _admin(url: str, sql: str) -> None:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def service(request: pytest.FixtureRequest, dns_server) -> Iterator[Service]:
    if request.param == "sqlite":
        running = Service(dns_server.address)
        yield running
        running.close()
        return
    admin = request.getfixturevalue("postgres_admin_url")  # 127.0.0.1:5432, else an embedded server
    name = f"validator_hostile_{os.getpid()}_{secrets.token_hex(4)}"
    asyncio.run(_admin(admin, f'CREATE DATABASE "{name}"'))
    running = Service(dns_server.address, database_url=urlsplit(admin)._replace(path=f"/{name}").geturl())
    yield running
    running.close()
    asyncio.run(_admin(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _json(value: object) -> bytes:
    return orjson.dumps(value)


def _event(**fields: str) -> bytes:
    return _json({"event": "bounce", "email": "evt@example.com", "timestamp": "2026-01-01T00:00:00Z", **fields})


# (name, method, path, body, content type, the same request without the control character)
_CASES = [
    ("put-source-nul", "PUT", "/v1/suppressions/s1@example.com", {"reason": "manual", "source": "a\x00b"}),
    ("put-source-crlf", "PUT", "/v1/suppressions/s1@example.com", {"reason": "manual", "source": "a\r\nX: y"}),
    ("put-why-nul", "PUT", "/v1/suppressions/s1@example.com", {"reason": "manual", "why": "a\x00b"}),
    ("put-why-lf", "PUT", "/v1/suppressions/s1@example.com", {"reason": "manual", "why": "a\nb"}),
    ("put-detail-nul", "PUT", "/v1/suppressions/s1@example.com", {"reason": "manual", "detail": "a\x00b"}),
    ("put-detail-escape", "PUT", "/v1/suppressions/s1@example.com", {"reason": "manual", "detail": "\x1b[2Ja"}),
    ("put-domain-why-nul", "PUT", "/v1/suppressions/domains/d1.example", {"reason": "manual", "why": "\x00"}),
    ("event-campaign-nul", "POST", "/v1/events", {"campaign_id": "spring\x00"}),
    ("event-campaign-crlf", "POST", "/v1/events", {"campaign_id": "spring\r\n"}),
    ("event-sender-nul", "POST", "/v1/events", {"sender": "news\x00@example.org"}),
    ("event-provider-cr", "POST", "/v1/events", {"provider": "gmail\r"}),
    ("event-id-nul", "POST", "/v1/events", {"id": "evt\x001"}),
    ("event-message-id-lf", "POST", "/v1/events", {"message_id": "<m\n1@example.com>"}),
    ("event-reply-nul", "POST", "/v1/events", {"smtp_message": "550 no\x00such user"}),
    ("event-email-nul", "POST", "/v1/events", {"email": "a\x00b@example.com"}),
    ("key-name-nul", "POST", "/v1/keys", {"name": "ci\x00", "scopes": ["validate"]}),
    ("key-name-crlf", "POST", "/v1/keys", {"name": "ci\r\nX: y", "scopes": ["validate"]}),
    ("job-callback-crlf", "POST", "/v1/jobs", {"emails": ["j@example.com"], "callback_url": "http://h.example/\r\nX:"}),
    ("job-callback-nul", "POST", "/v1/jobs", {"emails": ["j@example.com"], "callback_url": "http://h.example/\x00"}),
]
_CLEAN = {"\x00": "", "\r": "", "\n": "", "\x1b": ""}
_QUERIES = [  # (name, method, path with the character percent-encoded, the same path without it)
    ("delete-why-nul", "DELETE", "/v1/suppressions/q1@example.com?why=a%00b", "?why=ab"),
    ("list-source-nul", "GET", "/v1/suppressions?source=a%00b", "?source=ab"),
    ("list-source-crlf", "GET", "/v1/suppressions?source=a%0D%0Ab", "?source=ab"),
    ("rates-campaign-nul", "GET", "/v1/reports/bounce-rates?campaign_id=a%00b", "?campaign_id=ab"),
    ("rates-sender-lf", "GET", "/v1/reports/bounce-rates?sender=a%0Ab", "?sender=ab"),
    ("campaigns-sender-nul", "GET", "/v1/reports/campaigns?sender=a%00b", "?sender=ab"),
    ("events-campaign-nul", "GET", "/v1/events?campaign_id=a%00b", "?campaign_id=ab"),
    ("path-email-nul", "PUT", "/v1/suppressions/a%00b@example.com", ""),
    ("path-email-crlf", "PUT", "/v1/suppressions/a%0D%0Ab@example.com", ""),
    ("path-domain-nul", "PUT", "/v1/suppressions/domains/d%00.example", ""),
]


def _clean(value: object) -> object:
    if isinstance(value, str):
        for char, replacement in _CLEAN.items():
            value = value.replace(char, replacement)
        return value
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _body(path: str, fields: dict) -> bytes:
    return _event(**fields) if path == "/v1/events" else _json(fields)


@pytest.mark.parametrize(("name", "method", "path", "fields"), _CASES, ids=[case[0] for case in _CASES])
def test_a_control_character_in_a_field_is_refused_on_either_store(
    service: Service, name: str, method: str, path: str, fields: dict
) -> None:
    status, answer = service.request(Case(name, method, path, _body(path, fields), JSON))
    assert 400 <= status < 500, answer[:300]
    assert orjson.loads(answer)["error"]["code"] == "invalid_field", answer[:300]
    clean_status, clean_answer = service.request(Case(name, method, path, _body(path, _clean(fields)), JSON))
    assert clean_status < 300, clean_answer[:300]


@pytest.mark.parametrize(("name", "method", "path", "clean"), _QUERIES, ids=[case[0] for case in _QUERIES])
def test_a_control_character_in_a_query_or_path_is_refused_on_either_store(
    service: Service, name: str, method: str, path: str, clean: str
) -> None:
    body = _json({"reason": "manual"}) if method == "PUT" else b""
    status, answer = service.request(Case(name, method, path, body, JSON))
    assert 400 <= status < 500, answer[:300]
    assert orjson.loads(answer)["error"]["code"] == "invalid_field", answer[:300]
    if clean:
        clean_path = path.split("?")[0] + clean
        assert service.request(Case(name, method, clean_path, body, JSON))[0] in (200, 204, 404), clean_path


def test_an_import_row_with_a_control_character_is_an_invalid_row_on_either_store(service: Service) -> None:
    body = (
        b"email,reason,source,detail\n"
        b"i1@example.com,manual,a\x00b,\n"  # NUL in a one-line field
        b"i2@example.com,manual,ok,\n"
        b'i3@example.com,manual,"a\r\nb",\n'  # a quoted line break in a one-line field
        b'i4@example.com,manual,ok,"two\nlines"\n'  # the detail may hold line breaks
        b"i5@example.com,manual,ok,a\x00b\n"  # but no NUL
    )
    status, answer = service.request(Case("import", "POST", "/v1/suppressions/import", body, CSV))
    assert status == 200, answer[:300]
    result = orjson.loads(answer)
    assert (result["added"], result["invalid"]) == (2, 3), result
    stored = service.request(Case("export", "GET", "/v1/suppressions?format=csv"))[1]
    assert b"i2@example.com" in stored and b"i4@example.com" in stored
    assert b"\x00" not in stored and b"i1@" not in stored and b"i3@" not in stored and b"i5@" not in stored


_REPORT = (
    b"From: MAILER-DAEMON@mx.example.org\nTo: sender@example.com\nSubject: Undelivered Mail Returned to Sender\n"
    b"Message-ID: <report\x00@mx.example.org>\n"  # NUL in a header the fact keeps (its event id)
    b'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\n\n'
    b"--B\nContent-Type: text/plain\n\nYour message could not be delivered.\n\n"
    b"--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.org\n\n"
    b"Final-Recipient: rfc822; %s\nAction: failed\nStatus: 5.1.1\n"
    b"Diagnostic-Code: smtp; 550 5.1.1 no\x00such\x1b user\n\n--B--\n"  # NUL and ESC in the reply
)


def test_a_raw_bounce_with_nul_in_its_fields_is_stored_alike_on_either_store(service: Service) -> None:
    # PostgreSQL answered 500 (CharacterNotInRepertoireError) where SQLite stored the NUL
    status, answer = service.request(
        Case("dsn", "POST", "/v1/bounces", _REPORT % b"nul1@example.com", "message/rfc822")
    )
    assert status == 200, answer[:300]
    (result,) = orjson.loads(answer)["results"]
    assert (result["recipient"], result["action"]) == ("nul1@example.com", "suppressed")
    assert result["diagnostic"] == "550 5.1.1 no\ufffdsuch\ufffd user"
    # a NUL inside the recipient must not suppress the address after it (a\x00b@x is not b@x)
    status, answer = service.request(
        Case("dsn", "POST", "/v1/bounces", _REPORT % b"a\x00nul2@example.com", "message/rfc822")
    )
    assert status == 422, answer[:300]
    assert service.request(Case("get", "GET", "/v1/suppressions/nul2@example.com"))[0] == 404
