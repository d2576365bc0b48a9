"""POST /v1/validate answers, byte for byte, what the general path renders.

The single-address path skips the store when the key filters rule its keys out, answers API
keys from the verified-token cache without awaiting, renders MX hosts remembered per cached
answer and builds its JSON headers once. Here each answer of a real server (API keys on, key
filters in use) is compared with ``check_many`` (which always asks the store) rendered by
``wire.verdict_json``, and every error with ``wire.error_json``: same status, same
Content-Type, same bytes, once what depends on the clock is set aside.
"""

from __future__ import annotations

import asyncio

import orjson
import pytest

from tests.support.settings import make_settings
from validator.api import create_app
from validator.api.app_keys import CHECKER, STORE
from validator.model import SuppressionEntry, SuppressionKind, SuppressionReason
from validator.store import open_store
from validator.wire import validation as wire

ADDRESSES = [
    "jane@example.com",  # deliverable
    "  Jane.Doe@Example.COM ",  # trimmed and normalised
    "gone@example.com",  # a suppressed address
    "anyone@blocked.example",  # a suppressed domain
    "info@example.com",  # a role account
    "not an address",  # invalid: an answer, not an error
    "jane@gmail,com",  # invalid, with a repair suggestion
]
ERRORS = [  # body, status, code
    (b"{", 400, "invalid_json"),
    (b"\xff", 400, "invalid_encoding"),
    (b'{"email": "a@example.com", "extra": 1}', 400, "unknown_field"),
    (b"{}", 400, "missing_field"),
    (b'{"email": 5}', 400, "invalid_field"),
    (b'{"email": "a@example.com", "timeout_ms": 0}', 400, "invalid_field"),
]


@pytest.fixture
async def served(aiohttp_client, dns, tmp_path):
    zone = dns.zone
    for domain in ("example.com", "blocked.example"):
        zone.mx(domain, 10, f"mx.{domain}")
        zone.a(f"mx.{domain}", "8.8.8.8")
    url = f"sqlite:///{tmp_path}/v.sqlite3"
    store = await open_store(url)
    token = (await store.create_api_key("form", ["validate"]))[1]
    for kind, value in [(SuppressionKind.ADDRESS, "gone@example.com"), (SuppressionKind.DOMAIN, "blocked.example")]:
        await store.put_suppression(SuppressionEntry(kind, value, SuppressionReason.MANUAL, "test"), actor="t")
    await store.close()
    client = await aiohttp_client(create_app(make_settings(dns, database_url=url, auth=True)))
    app_store = client.app[STORE]
    for _ in range(600):  # the key filters are built in the background: wait until they answer
        app_store._stale = True
        await app_store.ping()
        if app_store.key_filters_building == 0:
            break
        await asyncio.sleep(0.05)
    assert app_store.key_filters_building == 0
    return client, {"Authorization": f"Bearer {token}"}


def _steady(body: dict) -> dict:
    """The answer without what depends on the clock: time spent and a cached answer's remaining TTL."""
    body["elapsed_ms"] = 0
    if body["checks"]["dns"] is not None:
        body["checks"]["dns"]["ttl"] = 0
    return body


async def test_each_answer_is_what_the_general_path_renders(served):
    client, auth = served
    for email in ADDRESSES:
        for _ in range(2):  # the first answer fills the caches, the second is served from them
            response = await client.post("/v1/validate", data=orjson.dumps({"email": email}), headers=auth)
            assert response.status == 200
            assert response.headers["Content-Type"] == "application/json"
            [general] = await client.app[CHECKER].check_many([email])
            expected = _steady(orjson.loads(orjson.dumps(wire.verdict_json(general))))
            raw = await response.read()
            assert _steady(orjson.loads(raw)) == expected
            assert orjson.dumps(_steady(orjson.loads(raw))) == orjson.dumps(expected)  # key order too


@pytest.mark.parametrize(("body", "status", "code"), ERRORS, ids=[e[2] + str(i) for i, e in enumerate(ERRORS)])
async def test_each_error_is_the_one_shape(served, body: bytes, status: int, code: str):
    client, auth = served
    response = await client.post("/v1/validate", data=body, headers=auth)
    assert (response.status, response.headers["Content-Type"]) == (status, "application/json")
    got = orjson.loads(await response.read())
    assert await response.read() == wire.error_json(code, got["error"]["message"], got["error"]["field"])


async def test_a_cached_key_and_a_fresh_one_answer_alike(served):
    client, auth = served
    first = await client.post("/v1/validate", data=b'{"email": "jane@example.com"}', headers=auth)  # verified
    second = await client.post("/v1/validate", data=b'{"email": "jane@example.com"}', headers=auth)  # recalled
    assert (first.status, second.status) == (200, 200)
    for headers in ({}, {"Authorization": auth["Authorization"] + "x"}, {"Authorization": "Basic abc"}):
        refused = await client.post("/v1/validate", data=b'{"email": "jane@example.com"}', headers=headers)
        assert refused.status == 401 and refused.headers["WWW-Authenticate"] == 'Bearer realm="validator"'
        assert refused.headers["Content-Type"] == "application/json"
        assert orjson.loads(await refused.read())["error"]["code"] == "unauthorized"
