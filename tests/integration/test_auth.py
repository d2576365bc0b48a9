"""API keys on a real server and a real store: 401 without a good key, 403 without the scope."""

from __future__ import annotations

import pytest

from tests.support.settings import make_settings
from validator.api import create_app
from validator.api.app_keys import STORE
from validator.store import open_store


@pytest.fixture
async def setup(aiohttp_client, dns, tmp_path):
    url = f"sqlite:///{tmp_path}/v.sqlite3"
    store = await open_store(url)
    tokens = {
        "validate": (await store.create_api_key("form", ["validate"]))[1],
        "read": (await store.create_api_key("reader", ["suppressions:read"]))[1],
        "admin": (await store.create_api_key("ops", ["admin"]))[1],
    }
    await store.close()
    settings = make_settings(dns, dns_timeout=0.2, database_url=url, auth=True)
    return await aiohttp_client(create_app(settings)), tokens


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_probes_need_no_key(setup):
    client, _ = setup
    assert (await client.get("/healthz")).status == 200
    assert (await client.get("/readyz")).status == 200


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer vk_nothing_here"},
        {"Authorization": "Bearer "},
    ],
    ids=["missing", "wrong_scheme", "unknown_key", "empty"],
)
async def test_missing_or_wrong_key_is_401(setup, headers):
    client, _ = setup
    response = await client.post("/v1/validate", json={"email": "a@example.com"}, headers=headers)
    assert response.status == 401
    assert (await response.json())["error"]["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_tampered_secret_is_401(setup):
    client, tokens = setup
    tampered = tokens["validate"][:-2] + ("AA" if not tokens["validate"].endswith("AA") else "BB")
    response = await client.post("/v1/validate", json={"email": "a@example.com"}, headers=bearer(tampered))
    assert response.status == 401


async def test_scopes_are_enforced(setup):
    client, tokens = setup
    ok = await client.post("/v1/validate", json={"email": "a@example.com"}, headers=bearer(tokens["validate"]))
    assert ok.status == 200
    denied = await client.put(
        "/v1/suppressions/a@example.com", json={"reason": "manual"}, headers=bearer(tokens["read"])
    )
    assert (denied.status, (await denied.json())["error"]["code"]) == (403, "forbidden")
    assert (await client.get("/metrics", headers=bearer(tokens["validate"]))).status == 403
    assert (await client.get("/metrics", headers=bearer(tokens["admin"]))).status == 200


async def test_audit_trail_names_the_key(setup):
    client, tokens = setup
    await client.put("/v1/suppressions/a@example.com", json={"reason": "manual"}, headers=bearer(tokens["admin"]))
    body = await (await client.get("/v1/suppressions/a@example.com", headers=bearer(tokens["read"]))).json()
    assert body["audit"][0]["actor"] == "key:ops"


async def test_revoked_key_stops_working(setup, tmp_path):
    client, tokens = setup
    assert (
        await client.post("/v1/validate", json={"email": "a@example.com"}, headers=bearer(tokens["validate"]))
    ).status == 200
    store = client.app[STORE]
    assert await store.revoke_api_key("form")
    response = await client.post("/v1/validate", json={"email": "a@example.com"}, headers=bearer(tokens["validate"]))
    assert response.status == 401  # revoked through this process: at once
