"""/readyz answers anyone (load balancers call it without a key): it says whether the service is
ready and nothing about the database behind it; the reason goes to the log."""

from __future__ import annotations

import logging

from tests.support.settings import make_settings
from validator.api import create_app
from validator.api.app_keys import STORE


async def test_an_unavailable_store_is_not_described_to_anonymous_callers(aiohttp_client, store_url, caplog):
    settings = make_settings(database_url=store_url, auth=True)
    client = await aiohttp_client(create_app(settings))
    assert (await client.get("/readyz")).status == 200
    await client.server.app[STORE].close()  # the store goes away under the running service
    with caplog.at_level(logging.WARNING, logger="validator.api"):
        response = await client.get("/readyz")
    # a status and a stable code, never the database's address or the driver's text
    assert (response.status, await response.json()) == (
        503,
        {"status": "store_unavailable", "reason": "store_unavailable"},
    )
    assert any(r.getMessage().startswith("not ready: ") for r in caplog.records)  # the reason is kept, in the log
