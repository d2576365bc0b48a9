"""The dashboard's read routes on both stores: campaigns seen, and a campaign's bounces with replies."""

from __future__ import annotations

import json

import pytest

from tests.support.settings import make_settings
from validator.api import create_app
from validator.store import open_store


@pytest.fixture
async def client(aiohttp_client, store_url):
    store = await open_store(store_url)
    token = (await store.create_api_key("reader", ["reports:read", "events:write"]))[1]
    await store.close()
    settings = make_settings(database_url=store_url, auth=True)
    client = await aiohttp_client(create_app(settings), headers={"Authorization": f"Bearer {token}"})
    events = [
        {"event": "sent", "email": "a@example.org", "timestamp": "2026-11-01T10:00:00Z", "campaign_id": "spring"},
        {
            "event": "bounce",
            "email": "gone@example.org",
            "timestamp": "2026-11-01T10:05:00Z",
            "campaign_id": "spring",
            "smtp_code": 550,
            "smtp_enhanced_code": "5.1.1",
            "smtp_message": "5.1.1 <gone@example.org>: Recipient address rejected: User unknown",
        },
        {
            "event": "complaint",
            "email": "angry@example.org",
            "timestamp": "2026-11-02T09:00:00Z",
            "campaign_id": "spring",
        },
        {
            "event": "bounce",
            "email": "full@example.org",
            "timestamp": "2026-11-03T09:00:00Z",
            "campaign_id": "autumn",
            "smtp_code": 452,
            "smtp_enhanced_code": "4.2.2",
            "smtp_message": "4.2.2 Mailbox full",
        },
        {"event": "sent", "email": "b@example.org", "timestamp": "2026-11-03T09:00:00Z"},  # no campaign
    ]
    response = await client.post(
        "/v1/events", data="\n".join(json.dumps(e) for e in events), headers={"Content-Type": "application/x-ndjson"}
    )
    assert response.status == 200
    return client


async def test_campaigns_are_listed_most_recent_first_with_counts(client):
    body = await (await client.get("/v1/reports/campaigns")).json()
    assert [(c["campaign_id"], c["events"], c["bounces"], c["complaints"]) for c in body["items"]] == [
        ("autumn", 1, 1, 0),
        ("spring", 3, 1, 1),
    ]
    assert body["items"][1]["first_at"] == "2026-11-01T10:00:00Z"
    assert body["items"][1]["last_at"] == "2026-11-02T09:00:00Z"


async def test_events_of_a_campaign_carry_the_reply_and_page_with_a_cursor(client):
    first = await (await client.get("/v1/events?campaign_id=spring&limit=1")).json()
    assert [e["address"] for e in first["items"]] == ["angry@example.org"]  # newest first
    assert first["next_cursor"] is not None
    second = await (await client.get(f"/v1/events?campaign_id=spring&limit=1&cursor={first['next_cursor']}")).json()
    bounce = second["items"][0]
    assert (bounce["address"], bounce["category"], bounce["reply_code"], bounce["status"]) == (
        "gone@example.org",
        "hard_invalid",
        550,
        "5.1.1",
    )
    assert "User unknown" in bounce["diagnostic"] and second["next_cursor"] is None
    everything = await (await client.get("/v1/events")).json()
    assert {e["address"] for e in everything["items"]} == {"angry@example.org", "gone@example.org", "full@example.org"}


@pytest.mark.parametrize(
    "query",
    ["cursor=abc", "cursor=-1", "limit=0", "limit=501", "campaign=x"],
    ids=["cursor_text", "cursor_negative", "limit_zero", "limit_high", "unknown_param"],
)
async def test_bad_event_queries_are_400_with_the_field(client, query):
    response = await client.get(f"/v1/events?{query}")
    assert response.status == 400
    assert (await response.json())["error"]["field"] in {"cursor", "limit", "campaign"}
