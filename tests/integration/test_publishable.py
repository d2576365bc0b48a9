"""Publishable (pk_) keys on a real server and store: validate only, from listed origins, rate-limited,
answered without internal details; every other route refuses them."""

from __future__ import annotations

import pytest

from tests.support.settings import make_settings
from validator.api import create_app
from validator.api.app_keys import STORE
from validator.store import open_store

SHOP = "https://shop.example"


@pytest.fixture
async def setup(aiohttp_client, dns, tmp_path):
    dns.zone.mx("gmail.com", 5, "mx.gmail.com")
    dns.zone.a("mx.gmail.com", "192.0.2.25")  # a public-looking address, never contacted
    url = f"sqlite:///{tmp_path}/v.sqlite3"
    store = await open_store(url)
    tokens = {
        "pk": (await store.create_api_key("signup", ["publishable", f"origin:{SHOP}"]))[1],
        "admin": (await store.create_api_key("ops", ["admin"]))[1],
    }
    await store.close()
    settings = make_settings(dns, database_url=url, publishable_rate_per_ip=5, auth=True)
    return await aiohttp_client(create_app(settings)), tokens


def headers(token: str, origin: str | None = SHOP) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **({"Origin": origin} if origin else {})}


async def test_publishable_answer_has_only_the_public_fields(setup):
    client, tokens = setup
    response = await client.post("/v1/validate", json={"email": "jane@gmail.com"}, headers=headers(tokens["pk"]))
    assert response.status == 200
    assert set(await response.json()) == {"status", "action", "reasons", "suggestion"}  # no checks, no MX hosts
    assert response.headers["Access-Control-Allow-Origin"] == SHOP
    assert response.headers["Vary"] == "Origin"


async def test_a_page_learns_of_bounce_entries_only_and_never_their_detail(setup):
    # A page's visitor types their own address: a hard bounce on the list is worth blocking there, but an
    # unsubscribe, a complaint or an operator's entry is not the page's to learn (the key is public: anyone
    # could test anyone for membership), and someone who once unsubscribed is signing up again.
    client, tokens = setup
    admin = headers(tokens["admin"])
    entries = {"gone": "hard_bounce", "left": "unsubscribe", "angry": "complaint", "hushed": "manual"}  # 5 a minute
    for name, reason in entries.items():
        put = {"reason": reason, "detail": "internal note"}
        assert (await client.put(f"/v1/suppressions/{name}@gmail.com", json=put, headers=admin)).status in (200, 201)

    async def page(email: str) -> dict:
        response = await client.post("/v1/validate", json={"email": email}, headers=headers(tokens["pk"]))
        assert response.status == 200
        return await response.json()

    fresh = await page("nobody-listed@gmail.com")
    for name, reason in entries.items():
        body = await page(f"{name}@gmail.com")
        assert "internal note" not in str(body) and reason not in str(body)
        if reason == "hard_bounce":
            assert (body["status"], body["reasons"]) == ("undeliverable", ["suppressed"]), name
        else:  # answered as any address of the domain is
            assert body == fresh, name
    sender = await client.post("/v1/validate", json={"email": "left@gmail.com"}, headers=admin)
    assert (await sender.json())["reasons"] == ["suppressed"]  # the sender still sees every entry


@pytest.mark.parametrize(
    "origin",
    ["https://evil.example", "http://shop.example", "null", None],
    ids=["other_site", "other_scheme", "null", "no_origin"],
)
async def test_other_origins_are_refused_without_cors_headers(setup, origin):
    client, tokens = setup
    response = await client.post(
        "/v1/validate", json={"email": "jane@gmail.com"}, headers=headers(tokens["pk"], origin)
    )
    assert response.status == 403
    assert (await response.json())["error"]["code"] == "forbidden"
    assert "Access-Control-Allow-Origin" not in response.headers


async def test_preflight_is_answered_only_for_listed_origins(setup):
    client, _ = setup
    asked = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}
    ok = await client.options("/v1/validate", headers={**asked, "Origin": SHOP})
    assert ok.status == 204
    assert ok.headers["Access-Control-Allow-Origin"] == SHOP
    assert "Authorization" in ok.headers["Access-Control-Allow-Headers"]
    refused = await client.options("/v1/validate", headers={**asked, "Origin": "https://evil.example"})
    assert refused.status == 403 and "Access-Control-Allow-Origin" not in refused.headers


async def test_revoking_a_key_drops_its_origin_from_preflights(setup):
    client, tokens = setup
    listed = await (await client.get("/v1/keys", headers=headers(tokens["admin"]))).json()
    pk_id = next(k["id"] for k in listed["items"] if k["publishable"])
    assert (await client.delete(f"/v1/keys/{pk_id}", headers=headers(tokens["admin"]))).status == 204
    refused = await client.options("/v1/validate", headers={"Origin": SHOP, "Access-Control-Request-Method": "POST"})
    assert refused.status == 403
    gone = await client.post("/v1/validate", json={"email": "jane@gmail.com"}, headers=headers(tokens["pk"]))
    assert gone.status == 401


async def test_per_ip_limit_answers_429_with_retry_after(setup):
    client, tokens = setup
    statuses = [
        (await client.post("/v1/validate", json={"email": "jane@gmail.com"}, headers=headers(tokens["pk"]))).status
        for _ in range(5)
    ]
    assert statuses == [200] * 5
    limited = await client.post("/v1/validate", json={"email": "jane@gmail.com"}, headers=headers(tokens["pk"]))
    assert limited.status == 429
    assert (await limited.json())["error"]["code"] == "rate_limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 12  # 5 a minute: one more every 12 s
    assert limited.headers["Access-Control-Allow-Origin"] == SHOP  # the page may read why
    admin = await client.post("/v1/validate", json={"email": "jane@gmail.com"}, headers=headers(tokens["admin"]))
    assert admin.status == 200  # secret keys are not limited by the publishable limits


async def test_publishable_key_cannot_ask_for_smtp_probes(setup):
    client, tokens = setup
    response = await client.post(
        "/v1/validate", json={"email": "jane@gmail.com", "smtp": True}, headers=headers(tokens["pk"])
    )
    assert (response.status, (await response.json())["error"]["field"]) == (403, "smtp")


async def test_every_other_route_refuses_a_publishable_key(setup):
    """Walks the router itself, so a route added later is covered without editing this test."""
    client, tokens = setup
    tried = 0
    for resource in client.app.router.resources():
        route_path = resource.canonical
        if route_path in {
            "/healthz",
            "/readyz",
            "/widget/v1.js",
            "/dashboard",
            "/dashboard/{file}",
            "/v1/webhooks/{provider}",
        }:
            continue  # public: no key is read at all
        path = (
            route_path.replace("{email}", "jane@gmail.com")
            .replace("{domain}", "gmail.com")
            .replace("{job_id}", "0" * 32)
            .replace("{key_id}", "0" * 16)
        )
        for route in resource:
            if route.method in {"HEAD", "OPTIONS"} or (route.method, route_path) == ("POST", "/v1/validate"):
                continue
            response = await client.request(route.method, path, data=b"{}", headers=headers(tokens["pk"]))
            assert response.status == 403, (route.method, route_path, response.status)
            assert (await response.json())["error"]["code"] == "forbidden"
            tried += 1
    assert tried >= 20  # the suppression, job, event, report, key and metrics routes


async def test_keys_api_creates_a_publishable_key_with_normalised_origins(setup):
    client, tokens = setup
    response = await client.post(
        "/v1/keys",
        json={"name": "form2", "scopes": ["publishable"], "origins": ["HTTPS://Shop2.Example:443/"]},
        headers=headers(tokens["admin"]),
    )
    assert response.status == 201
    body = await response.json()
    assert body["token"].startswith("pk_") and body["origins"] == ["https://shop2.example"]
    assert body["scopes"] == ["publishable"]
    stored = await client.app[STORE].list_api_keys()
    assert all(body["token"] not in repr(k) for k in stored)  # only the secret's hash is kept


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "x", "scopes": ["publishable"]}, "origins"),
        ({"name": "x", "scopes": ["publishable", "validate"], "origins": [SHOP]}, "scopes"),
        ({"name": "x", "scopes": ["validate"], "origins": [SHOP]}, "origins"),
        ({"name": "x", "scopes": ["publishable"], "origins": ["https://shop.example/path"]}, "origins"),
        ({"name": "x", "scopes": ["publishable"], "origins": ["ftp://shop.example"]}, "origins"),
        ({"name": "x", "scopes": ["root"]}, "scopes"),
    ],
    ids=["no_origin", "mixed_scopes", "origin_on_secret_key", "origin_with_path", "not_http", "unknown_scope"],
)
async def test_keys_api_refuses_bad_key_requests(setup, payload, field):
    client, tokens = setup
    response = await client.post("/v1/keys", json=payload, headers=headers(tokens["admin"]))
    assert response.status == 400
    assert (await response.json())["error"]["field"] == field


async def test_a_secret_token_relabelled_pk_is_refused(setup):
    """The prefix tells where a token may be shown; a vk_ secret passed as pk_ is not accepted."""
    client, tokens = setup
    relabelled = "pk_" + tokens["admin"][3:]
    response = await client.post("/v1/validate", json={"email": "jane@gmail.com"}, headers=headers(relabelled))
    assert response.status == 401
