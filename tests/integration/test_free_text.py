"""Free text the service stores (why, source, detail, campaign_id, ...) on both store backends.

PostgreSQL cannot hold NUL in text and SQLite can, so without a rule at the edge the same
request answered 500 on one backend and was stored on the other. Every control character is
refused alike, with the field named, in query strings, JSON bodies and CSV cells; a multi-line
field (``detail``: an SMTP reply) keeps TAB, LF and CR.
"""

from __future__ import annotations

import pytest

from tests.support.settings import make_settings
from validator.api import create_app

CONTROLS = ["\x00", "\x01", "\x1b", "\x7f", "\x85"]  # NUL, SOH, ESC, DEL, NEL (C1)


@pytest.fixture
async def client(aiohttp_client, dns, store_url):
    settings = make_settings(dns, database_url=store_url)
    return await aiohttp_client(create_app(settings))


async def _refused(response, field: str) -> None:
    body = await response.json()
    assert (response.status, body["error"]["code"], body["error"]["field"]) == (400, "invalid_field", field), body


@pytest.mark.parametrize("control", CONTROLS, ids=["nul", "soh", "esc", "del", "nel"])
async def test_control_characters_in_query_parameters_are_refused(client, control):
    await client.put("/v1/suppressions/a@example.com", json={"reason": "manual"})
    await _refused(await client.delete("/v1/suppressions/a@example.com", params={"why": f"x{control}y"}), "why")
    await _refused(await client.get("/v1/suppressions", params={"source": f"x{control}"}), "source")
    await _refused(await client.get("/v1/reports/bounce-rates", params={"campaign_id": f"{control}c"}), "campaign_id")
    await _refused(await client.get("/v1/reports/bounce-rates", params={"sender": f"s{control}"}), "sender")
    csv_body = b"email\r\nb@example.com\r\n"
    for name in ("source", "why"):
        response = await client.post(
            "/v1/suppressions/import", params={name: f"i{control}"}, data=csv_body, headers={"Content-Type": "text/csv"}
        )
        await _refused(response, name)
    assert (await client.get("/v1/suppressions/a@example.com")).status == 200  # the DELETE never ran
    assert (await client.get("/v1/suppressions/b@example.com")).status == 404  # nor the imports


@pytest.mark.parametrize("control", CONTROLS, ids=["nul", "soh", "esc", "del", "nel"])
async def test_control_characters_in_json_text_fields_are_refused(client, control):
    for field in ("source", "why", "detail"):
        body = {"reason": "manual", field: f"a{control}b"}
        await _refused(await client.put("/v1/suppressions/a@example.com", json=body), field)
    event = {
        "event": "bounce",
        "type": "hard",
        "email": "c@example.com",
        "timestamp": "2026-03-15T08:42:11Z",
        "campaign_id": f"spring{control}",
    }
    await _refused(await client.post("/v1/events", json=event), "campaign_id")
    assert (await client.get("/v1/suppressions/a@example.com")).status == 404


async def test_a_multi_line_detail_keeps_its_line_breaks_and_tabs(client):
    detail = "550-5.1.1 The email account does not exist.\r\n550 5.1.1\tplease check"  # a real multi-line reply
    response = await client.put("/v1/suppressions/a@example.com", json={"reason": "hard_bounce", "detail": detail})
    assert response.status == 201
    assert (await (await client.get("/v1/suppressions/a@example.com")).json())["detail"] == detail


async def test_control_characters_in_csv_cells_are_reported_rows(client):
    csv_body = (
        b"email,source,detail\r\n"
        b"one@example.com,esp\x01export,\r\n"  # SOH in a one-line cell
        b'two@example.com,esp,"multi\nline\tdetail"\r\n'  # a quoted multi-line detail is fine
        b"three@example.com,esp,bad\x1bdetail\r\n"  # ESC in the detail
        b"four@example.com,esp,\r\n"
    )
    response = await client.post("/v1/suppressions/import", data=csv_body, headers={"Content-Type": "text/csv"})
    body = await response.json()
    assert (response.status, body["added"], body["invalid"]) == (200, 2, 2)
    assert [(row["line"], row["error"].split(":")[0]) for row in body["invalid_rows"]] == [(2, "source"), (5, "detail")]
    assert (await client.get("/v1/suppressions/one@example.com")).status == 404
    assert (await client.get("/v1/suppressions/four@example.com")).status == 200


def _dsn(recipient: bytes) -> bytes:
    """A Postfix-style RFC 3464 report whose only recipient is ``recipient``."""
    return (
        b"From: MAILER-DAEMON@mx.example.org\r\nTo: news@example.org\r\nSubject: Undelivered Mail\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=B\r\n\r\n"
        b"--B\r\nContent-Type: text/plain\r\n\r\n<" + recipient + b">: host mx.example.com said: 550 5.1.1 "
        b"User unknown (in reply to RCPT TO command)\r\n"
        b"--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\n"
        b"Final-Recipient: rfc822; " + recipient + b"\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        b"Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n--B--\r\n"
    )


@pytest.mark.parametrize("control", [b"\x00", b"\x01", b"\x1b"], ids=["nul", "soh", "esc"])
async def test_a_control_character_in_a_bounced_recipient_suppresses_no_other_address(client, control):
    control_sample = await client.post("/v1/bounces", data=_dsn(b"whole@example.com"))
    assert [r["address"] for r in (await control_sample.json())["results"]] == ["whole@example.com"]
    response = await client.post("/v1/bounces", data=_dsn(b"a" + control + b"bc@example.com"))
    assert (response.status, (await response.json())["error"]["code"]) == (422, "unparseable_message")
    for tail in ("bc@example.com", "c@example.com"):  # what a cut at the control character would have named
        assert (await client.get(f"/v1/suppressions/{tail}")).status == 404
