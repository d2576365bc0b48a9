"""Where openapi.yaml and the service disagreed, each decided one way and held to it.

- A suppression with its audit trail (``GET /v1/suppressions/{email}``) validates against
  ``SuppressionWithAudit`` (it was ``allOf`` two closed objects, which nothing can satisfy).
- Job flags take what the spec lists (``true``, ``false``, ``1``, ``0``); an empty ``format=`` is 400.
- A lookup over ``VALIDATOR_LOOKUP_MAX`` items is 400 ``too_many_items``; a body over
  ``VALIDATOR_MAX_BODY_BYTES`` is 413 ``body_too_large``, as documented.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import requests
import schemathesis

from tests.support.settings import make_settings
from validator.api import create_app

SPEC = schemathesis.openapi.from_path(Path(__file__).parents[2] / "openapi.yaml")


async def _client(aiohttp_client, dns, store_url):
    dns.zone.mx("example.com", 10, "mx.example.com")
    dns.zone.a("mx.example.com", "8.8.8.8")
    settings = make_settings(dns, database_url=store_url)
    return await aiohttp_client(create_app(settings))


async def _get(client, path: str) -> requests.Response:
    """A real answer read by ``requests`` (what schemathesis validates), off the event loop."""
    return await asyncio.to_thread(requests.get, str(client.make_url(path)), timeout=10)


async def test_a_suppression_with_its_audit_trail_matches_the_spec(aiohttp_client, dns, store_url):
    client = await _client(aiohttp_client, dns, store_url)
    await client.put("/v1/suppressions/a@example.com", json={"reason": "hard_bounce", "why": "bounced"})
    await client.put("/v1/suppressions/domains/example.org", json={"reason": "manual"})
    for path, operation in (
        ("/v1/suppressions/a@example.com", "/v1/suppressions/{email}"),
        ("/v1/suppressions/domains/example.org", "/v1/suppressions/domains/{domain}"),
    ):
        response = await _get(client, path)
        assert response.status_code == 200 and response.json()["audit"]
        SPEC[operation]["GET"].validate_response(response)  # raises when the answer breaks the schema


async def test_job_flags_and_formats_are_what_the_spec_lists(aiohttp_client, dns, store_url):
    client = await _client(aiohttp_client, dns, store_url)
    for flag in ("true", "false", "1", "0"):
        response = await client.post(f"/v1/jobs?smtp={flag}&dedupe={flag}", json={"emails": ["a@example.com"]})
        assert response.status == 202, (flag, await response.text())
    for flag in ("True", "yes", ""):
        response = await client.post("/v1/jobs", params={"smtp": flag}, json={"emails": ["a@example.com"]})
        assert (response.status, (await response.json())["error"]["field"]) == (400, "smtp"), flag
    location = (await client.post("/v1/jobs", json={"emails": []})).headers["Location"]
    response = await client.get(f"{location}/results?format=")
    assert (response.status, (await response.json())["error"]["field"]) == (400, "format")
    assert (await client.get(f"{location}/results")).status == 200


async def test_lookup_limits_answer_as_documented(aiohttp_client, dns, store_url):
    client = await _client(aiohttp_client, dns, store_url)
    too_many = await client.post("/v1/suppressions/lookup", json={"emails": ["a@example.com"] * 10_001})
    assert (too_many.status, (await too_many.json())["error"]["code"]) == (400, "too_many_items")
    long_address = "a" * 150 + "@example.com"  # 10,000 of these are 1.6 MB, over VALIDATOR_MAX_BODY_BYTES
    too_large = await client.post("/v1/suppressions/lookup", json={"emails": [long_address] * 10_000})
    assert (too_large.status, (await too_large.json())["error"]["code"]) == (413, "body_too_large")
    fits = await client.post("/v1/suppressions/lookup", json={"emails": ["a" * 60 + "@example.com"] * 10_000})
    assert fits.status == 200
