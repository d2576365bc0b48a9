"""Bounce ingestion through the real HTTP API on both stores: events, raw bounces and webhooks in,
per-recipient decisions out; validation then uses what was learned; the report adds it up."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime

import pytest

from tests.support.settings import make_settings
from tests.support.testdata import BOUNCES as CORPUS
from tests.support.webhook_signers import RESEND_SECRET, basic, svix_headers
from validator.api import create_app

MAILGUN_KEY = "key-for-tests"
SPARKPOST_USER, SPARKPOST_PASSWORD = "sparkpost", "a long webhook password"


@pytest.fixture
async def client(aiohttp_client, dns, store_url):
    dns.zone.mx("example.com", 10, "mx.example.com")
    dns.zone.a("mx.example.com", "8.8.8.8")
    settings = make_settings(
        dns,
        database_url=store_url,
        mailgun_signing_key=MAILGUN_KEY,
        sparkpost_webhook_user=SPARKPOST_USER,
        sparkpost_webhook_password=SPARKPOST_PASSWORD,
        resend_signing_secret=RESEND_SECRET,
        max_message_bytes=200_000,
    )
    return await aiohttp_client(create_app(settings))


def event(email: str, **fields) -> dict:
    return {"event": "bounce", "email": email, "timestamp": "2026-03-15T08:42:11Z", **fields}


async def test_hard_bounce_event_suppresses_and_validation_shows_the_reply(client):
    # The issue's own example: Gmail's reply to a missing mailbox
    body = event(
        "gone@example.com",
        type="hard",
        smtp_code=550,
        smtp_enhanced_code="5.1.1",
        provider="gmail",
        smtp_message="The email account that you tried to reach does not exist",
    )
    answer = await (await client.post("/v1/events", json=body)).json()
    [result] = answer["results"]
    assert (result["address"], result["category"], result["reason"], result["action"], result["suppressed_as"]) == (
        "gone@example.com",
        "hard_invalid",
        "userunknown",
        "suppressed",
        "hard_bounce",
    )
    verdict = await (await client.post("/v1/validate", json={"email": "gone@example.com"})).json()
    assert (verdict["status"], verdict["reasons"]) == ("undeliverable", ["suppressed"])
    assert verdict["checks"]["suppression"]["source"] == "bounce:api"
    assert "does not exist" in verdict["checks"]["suppression"]["detail"]


async def test_soft_bounce_makes_the_address_risky_until_a_delivery(client):
    soft = event(
        "full@example.com",
        type="soft",
        smtp_code=452,
        smtp_enhanced_code="4.2.2",
        message_id="m1",
        smtp_message="The email account that you tried to reach is over quota",
    )
    [result] = (await (await client.post("/v1/events", json=[soft])).json())["results"]
    assert (result["category"], result["action"], result["soft_streak"]) == ("soft_mailbox", "streak_incremented", 1)
    verdict = await (await client.post("/v1/validate", json={"email": "full@example.com"})).json()
    assert verdict["status"] == "risky" and "recent_soft_bounces" in verdict["reasons"]
    assert verdict["checks"]["bounces"]["soft_bounce_sends"] == 1
    delivered = {"event": "delivered", "email": "full@example.com", "timestamp": "2026-03-16T08:00:00Z"}
    [reset] = (await (await client.post("/v1/events", json=delivered)).json())["results"]
    assert reset["action"] == "streak_reset"
    verdict = await (await client.post("/v1/validate", json={"email": "full@example.com"})).json()
    assert verdict["status"] == "deliverable" and verdict["checks"]["bounces"] is None


async def test_a_claimed_hard_bounce_that_is_an_rbl_block_is_a_sender_problem(client):
    # The sender says "hard", the text says its IP is listed: re-derived, the address is not blamed
    body = event(
        "fine@example.com",
        type="hard",
        smtp_code=554,
        smtp_enhanced_code="5.7.1",
        smtp_message="Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org",
    )
    [result] = (await (await client.post("/v1/events", json=body)).json())["results"]
    assert (result["category"], result["action"], result["suppressed_as"]) == ("sender_problem", "recorded", None)
    verdict = await (await client.post("/v1/validate", json={"email": "fine@example.com"})).json()
    assert verdict["status"] == "deliverable"


async def test_raw_postfix_bounce_is_read_and_learned(client):
    raw = (CORPUS / "emails" / "lhost-postfix-05.eml").read_bytes()  # Postfix "450 4.1.1 ... User unknown"
    response = await client.post("/v1/bounces", data=raw, headers={"Content-Type": "message/rfc822"})
    assert response.status == 200
    [result] = (await response.json())["results"]
    assert (result["address"], result["category"], result["action"]) == (
        "kijitora@example.org",
        "hard_invalid",
        "suppressed",
    )
    again = await (await client.post("/v1/bounces", data=raw)).json()
    assert again["actions"] == {"duplicate": 1}


async def test_raw_input_that_is_no_message_or_too_big_is_a_clear_4xx(client):
    response = await client.post("/v1/bounces", data=b"\x00\xff not a message at all")
    assert (response.status, (await response.json())["error"]["code"]) == (422, "unparseable_message")
    response = await client.post("/v1/bounces", data=b"x" * 200_001)
    assert (response.status, (await response.json())["error"]["code"]) == (413, "body_too_large")
    response = await client.post(
        "/v1/events",
        data=b'{"event": "bounce", "email": "a@example.com", "x": 1}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status == 400 and (await response.json())["error"]["code"] in ("unknown_field", "missing_field")


def mailgun(payload: dict, key: str = MAILGUN_KEY) -> dict:
    timestamp, token = str(int(time.time())), "t" * 50
    signature = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    return {"signature": {"timestamp": timestamp, "token": token, "signature": signature}, "event-data": payload}


async def test_signed_mailgun_webhook_is_learned_and_unsigned_or_unknown_is_refused(client):
    failed = {
        "event": "failed",
        "severity": "permanent",
        "id": "ev-1",
        "timestamp": time.time(),
        "recipient": "nobody@example.com",
        "delivery-status": {"code": 550, "message": "5.1.1 The email account that you tried to reach does not exist"},
    }
    response = await client.post("/v1/webhooks/mailgun", json=mailgun(failed))
    assert response.status == 200, await response.text()
    [result] = (await response.json())["results"]
    assert (result["address"], result["action"]) == ("nobody@example.com", "suppressed")
    forged = await client.post("/v1/webhooks/mailgun", json=mailgun(failed, key="wrong"))
    assert (forged.status, (await forged.json())["error"]["code"]) == (401, "invalid_signature")
    unset = await client.post("/v1/webhooks/sendgrid", json=[])
    assert (unset.status, (await unset.json())["error"]["code"]) == (404, "webhook_not_configured")
    unknown = await client.post("/v1/webhooks/nosuch", json={})
    assert unknown.status == 404


async def test_sparkpost_batch_with_basic_credentials_is_learned_and_its_test_batch_accepted(client):
    credentials = basic(SPARKPOST_USER, SPARKPOST_PASSWORD)
    ping = await client.post("/v1/webhooks/sparkpost", json=[{"msys": {}}], headers=credentials)
    assert ping.status == 200, await ping.text()  # SparkPost creates a webhook only if its test batch gets a 200
    assert (await ping.json())["results"] == []
    bounce = {
        "type": "bounce",
        "bounce_class": "10",
        "event_id": "sp-1",
        "rcpt_to": "left@example.com",
        "timestamp": str(int(time.time())),
        "raw_reason": "550 5.1.1 <left@example.com>: Recipient address rejected: User unknown in local recipient table",
    }
    delay = {**bounce, "type": "delay", "event_id": "sp-2", "rcpt_to": "busy@example.com", "bounce_class": "22"}
    delay["raw_reason"] = "452 4.2.2 <busy@example.com>: Recipient address rejected: Mailbox full"
    batch = [{"msys": {"message_event": bounce}}, {"msys": {"message_event": delay}}]
    response = await client.post("/v1/webhooks/sparkpost", json=batch, headers=credentials)
    assert response.status == 200, await response.text()
    actions = {r["address"]: r["action"] for r in (await response.json())["results"]}
    assert actions == {"left@example.com": "suppressed", "busy@example.com": "ignored"}
    wrong = await client.post("/v1/webhooks/sparkpost", json=batch, headers=basic(SPARKPOST_USER, "guess"))
    assert (wrong.status, (await wrong.json())["error"]["code"]) == (401, "invalid_signature")


async def test_signed_resend_event_is_learned_and_a_tampered_one_refused(client):
    event = {
        "type": "email.bounced",
        "created_at": datetime.now(UTC).isoformat(),
        "data": {
            "email_id": "4ef9a417-02e9-4d39-ad75-9611e0fcc33c",
            "to": ["gone-resend@example.com"],
            "bounce": {"type": "Permanent", "subType": "General", "diagnosticCode": ["smtp; 550 5.1.1 user unknown"]},
        },
    }
    body = json.dumps(event).encode()
    headers = {**svix_headers(body, at=datetime.now(UTC)), "Content-Type": "application/json"}
    response = await client.post("/v1/webhooks/resend", data=body, headers=headers)
    assert response.status == 200, await response.text()
    [result] = (await response.json())["results"]
    assert (result["address"], result["action"]) == ("gone-resend@example.com", "suppressed")
    tampered = await client.post("/v1/webhooks/resend", data=body.replace(b"gone", b"kept"), headers=headers)
    assert (tampered.status, (await tampered.json())["error"]["code"]) == (401, "invalid_signature")


async def test_report_adds_up_a_campaign(client):
    sent = [
        {
            "event": "sent",
            "email": f"r{i}@example.com",
            "timestamp": "2026-03-15T08:00:00Z",
            "campaign_id": "spring",
            "message_id": f"s{i}",
        }
        for i in range(100)
    ]
    bounce = event(
        "r7@example.com",
        smtp_code=550,
        smtp_enhanced_code="5.1.1",
        smtp_message="user unknown",
        campaign_id="spring",
        message_id="s7",
    )
    ndjson = "\n".join(json.dumps(e) for e in [*sent, bounce]).encode()
    response = await client.post("/v1/events", data=ndjson, headers={"Content-Type": "application/x-ndjson"})
    assert (await response.json())["actions"] == {"recorded": 100, "suppressed": 1}
    report = await (await client.get("/v1/reports/bounce-rates?campaign_id=spring")).json()
    assert report["counts"]["sent"] == 100 and report["counts"]["hard_bounces"] == 1
    assert report["rates"]["hard_bounce"] == {
        "count": 1,
        "denominator": 100,
        "basis": "sent",
        "percent": 1.0,
        "level": "warning",
        "bands": {"warning": 0.5, "critical": 1.0},
    }
    other = await (await client.get("/v1/reports/bounce-rates?campaign_id=autumn")).json()
    assert other["counts"]["sent"] == 0
    bad = await client.get("/v1/reports/bounce-rates?since=yesterday")
    assert (bad.status, (await bad.json())["error"]["field"]) == (400, "since")
