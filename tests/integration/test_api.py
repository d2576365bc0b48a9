"""POST /v1/validate and /v1/validate/batch through a real aiohttp server and real loopback DNS."""

from __future__ import annotations

import dataclasses

import pytest

from tests.support.settings import make_settings
from validator.api import create_app
from validator.config import Settings


@pytest.fixture
def settings(dns, tmp_path) -> Settings:
    return make_settings(dns, database_url=f"sqlite:///{tmp_path}/validator.sqlite3")


@pytest.fixture
async def client(aiohttp_client, settings):
    return await aiohttp_client(create_app(settings))


@pytest.fixture
def zone(dns):
    zone = dns.zone
    zone.mx("example.com", 10, "mx1.example.com")
    zone.mx("example.com", 20, "mx2.example.com")
    zone.a("mx1.example.com", "8.8.8.8")
    zone.a("mx2.example.com", "8.8.4.4")
    return zone


async def validate(client, email: str, **extra) -> dict:
    response = await client.post("/v1/validate", json={"email": email, **extra})
    assert response.status == 200, await response.text()
    return await response.json()


async def test_deliverable_address_has_all_checks(client, zone):
    body = await validate(client, "  Jane.Doe@Example.COM ")
    assert body["status"] == "deliverable"
    assert body["action"] == "accept"
    assert body["reasons"] == []
    assert body["email"] == "  Jane.Doe@Example.COM "
    assert body["normalized"] == "Jane.Doe@example.com"
    assert [h["host"] for h in body["checks"]["dns"]["mx"]] == ["mx1.example.com", "mx2.example.com"]
    assert body["checks"]["dns"]["outcome"] == "mx"
    assert body["checks"]["syntax"]["valid"] is True
    assert body["checks"]["signals"]["disposable"] is False
    assert body["checks"]["suppression"] is None
    assert body["elapsed_ms"] >= 0


async def test_invalid_address_is_an_answer_not_an_error(client, dns):
    body = await validate(client, "not an address")
    assert (body["status"], body["action"], body["reasons"]) == ("undeliverable", "block", ["invalid_syntax"])
    assert body["normalized"] is None
    assert body["checks"]["dns"] is None
    assert body["checks"]["syntax"]["problem"] is not None
    assert dns.count() == 0  # syntax failures never reach DNS


async def test_nxdomain_is_undeliverable(client, dns):
    body = await validate(client, "someone@no-such-domain.com")
    assert (body["status"], body["reasons"]) == ("undeliverable", ["no_such_domain"])


async def test_null_mx_is_undeliverable(client, dns):
    dns.zone.mx("nomail.com", 0, ".")
    body = await validate(client, "someone@nomail.com")
    assert (body["status"], body["reasons"]) == ("undeliverable", ["null_mx"])


async def test_servfail_is_unknown_not_undeliverable(client, dns):
    dns.zone.servfail("broken.com")
    body = await validate(client, "someone@broken.com")
    assert (body["status"], body["action"], body["reasons"]) == ("unknown", "accept", ["dns_error"])


async def test_silent_dns_is_unknown_within_the_deadline(client, dns):
    dns.zone.drop("silent.com")
    body = await validate(client, "someone@silent.com", timeout_ms=200)
    assert (body["status"], body["reasons"]) == ("unknown", ["dns_timeout"])
    assert body["elapsed_ms"] < 1000


async def test_typo_gets_a_suggestion_and_confirm(client, dns):
    dns.zone.mx("yahooo.com", 10, "mx.yahooo.com")
    dns.zone.a("mx.yahooo.com", "8.8.8.8")
    body = await validate(client, "jane@yahooo.com")
    assert body["suggestion"] == "jane@yahoo.com"
    assert body["action"] == "confirm"
    assert "typo_suspected" in body["reasons"]


async def test_stray_punctuation_is_invalid_syntax_with_a_suggestion(client, dns):
    body = await validate(client, "jane@,yahoo.com")  # a comma typed before the domain
    assert (body["status"], body["reasons"], body["suggestion"]) == (
        "undeliverable",
        ["invalid_syntax"],
        "jane@yahoo.com",
    )


async def test_disposable_is_blocked_by_default(client, dns):
    dns.zone.mx("mailinator.com", 10, "mx.mailinator.com")
    dns.zone.a("mx.mailinator.com", "8.8.8.8")
    body = await validate(client, "x@mailinator.com")
    assert (body["status"], body["action"]) == ("risky", "block")
    assert "disposable" in body["reasons"]


async def test_batch_answers_in_input_order_and_dedupes(client, zone, dns):
    emails = ["b@example.com", "bad", "a@example.com", "b@example.com", "c@nowhere-at-all.com"]
    response = await client.post("/v1/validate/batch", json={"emails": emails})
    assert response.status == 200
    body = await response.json()
    assert body["count"] == 5
    assert [r["email"] for r in body["results"]] == emails
    assert [r["status"] for r in body["results"]] == [
        "deliverable",
        "undeliverable",
        "deliverable",
        "deliverable",
        "undeliverable",
    ]
    assert dns.count("example.com", "MX") == 1  # three addresses, one domain, one MX query


async def test_batch_shares_one_lookup_per_domain(client, dns):
    for i in range(20):
        dns.zone.mx(f"d{i}.com", 10, f"mx.d{i}.com")
        dns.zone.a(f"mx.d{i}.com", "8.8.8.8")
    emails = [f"user{j}@d{j % 20}.com" for j in range(200)]
    response = await client.post("/v1/validate/batch", json={"emails": emails})
    assert response.status == 200
    assert {r["status"] for r in (await response.json())["results"]} == {"deliverable"}
    assert all(dns.count(f"d{i}.com", "MX") == 1 for i in range(20))


async def test_second_validation_is_served_from_cache(client, zone, dns):
    await validate(client, "a@example.com")
    sent = dns.count()
    await validate(client, "b@example.com")
    assert dns.count() == sent


@pytest.mark.parametrize(
    "body, status, code, field",
    [
        (b"{not json", 400, "invalid_json", None),
        (b'{"email": "\xff@example.com"}', 400, "invalid_encoding", None),
        (b"[]", 400, "invalid_json", None),
        (b"{}", 400, "missing_field", "email"),
        (b'{"email": 5}', 400, "invalid_field", "email"),
        (b'{"email": "a@b.com", "smpt": true}', 400, "unknown_field", "smpt"),
        (b'{"email": "a@b.com", "smtp": "yes"}', 400, "invalid_field", "smtp"),
        (b'{"email": "a@b.com", "timeout_ms": 0}', 400, "invalid_field", "timeout_ms"),
        (b'{"email": "a@b.com", "timeout_ms": true}', 400, "invalid_field", "timeout_ms"),
    ],
    ids=[
        "malformed",
        "utf8",
        "not_object",
        "missing",
        "type",
        "unknown",
        "bool",
        "range",
        "bool_as_int",
    ],
)
async def test_bad_requests_get_json_errors(client, body, status, code, field):
    response = await client.post("/v1/validate", data=body, headers={"Content-Type": "application/json"})
    assert response.status == status
    error = (await response.json())["error"]
    assert (error["code"], error["field"]) == (code, field)
    assert error["message"]


@pytest.mark.parametrize(
    ("email", "problem"),
    [
        ("a@b.com\r\nRCPT TO:<x@y.com>", "forbidden_character"),  # an SMTP command smuggled in: never sent anywhere
        ("a\x00@b.com", "forbidden_character"),
        ("a" * 5000 + "@b.com", "too_long"),
    ],
    ids=["crlf", "nul", "5000-chars"],
)
async def test_a_string_that_cannot_be_an_address_is_answered_not_refused(client, email, problem):
    # an invalid address is the question, not a bad request: 200, invalid_syntax, as in jobs
    response = await client.post("/v1/validate", json={"email": email})
    assert response.status == 200, await response.text()
    verdict = await response.json()
    assert (verdict["status"], verdict["reasons"], verdict["checks"]["syntax"]["problem"]) == (
        "undeliverable",
        ["invalid_syntax"],
        problem,
    )
    assert verdict["email"] == email[:1024]  # a megabyte is neither read nor echoed
    batch = await client.post("/v1/validate/batch", json={"emails": [email, "a@example.com"]})
    assert batch.status == 200 and (await batch.json())["results"][0]["reasons"] == ["invalid_syntax"]
    lookup = await client.post("/v1/suppressions/lookup", json={"emails": [email]})
    assert lookup.status == 200 and (await lookup.json())["results"][0]["valid"] is False


async def test_oversized_body_is_413(aiohttp_client, settings):
    client = await aiohttp_client(create_app(dataclasses.replace(settings, max_body_bytes=2048)))
    response = await client.post("/v1/validate", data=b'{"email": "' + b"a" * 4096 + b'"}')
    assert response.status == 413
    assert (await response.json())["error"]["code"] == "body_too_large"


async def test_batch_over_the_limit_is_refused(aiohttp_client, settings):
    client = await aiohttp_client(create_app(dataclasses.replace(settings, batch_max=3)))
    response = await client.post("/v1/validate/batch", json={"emails": ["a@b.com"] * 4})
    assert response.status == 400
    assert (await response.json())["error"] == {
        "code": "too_many_items",
        "message": "at most 3 addresses per batch, got 4",
        "field": "emails",
    }


async def test_batch_names_the_bad_item(client):
    response = await client.post("/v1/validate/batch", json={"emails": ["a@b.com", 7]})
    assert (await response.json())["error"]["field"] == "emails[1]"


async def test_unknown_route_and_method_use_the_error_shape(client):
    response = await client.get("/v1/nothing")
    assert (response.status, (await response.json())["error"]["code"]) == (404, "not_found")
    response = await client.get("/v1/validate")
    assert (response.status, (await response.json())["error"]["code"]) == (405, "method_not_allowed")


async def test_health_ready_and_metrics(client, zone):
    assert (await (await client.get("/healthz")).json()) == {"status": "ok"}
    readiness = await (await client.get("/readyz")).json()
    assert readiness == {"status": "ready", "key_filters_building": readiness["key_filters_building"]}
    assert readiness["key_filters_building"] in (0, 1, 2)  # SQLite's two filters may still be building
    await validate(client, "a@example.com")
    await validate(client, "b@example.com")
    await client.post("/v1/validate", data=b"{")
    response = await client.get("/metrics")
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = await response.text()
    assert 'validator_http_requests_total{method="POST",route="/v1/validate",status="200"} 2' in text
    assert 'validator_http_requests_total{method="POST",route="/v1/validate",status="400"} 1' in text
    assert 'validator_verdicts_total{status="deliverable"} 2' in text
    assert "validator_dns_cache_hits_total 1" in text
    assert "validator_dns_cache_misses_total 1" in text
