"""openapi.yaml against the running service: every documented operation, request and response.

Schemathesis generates requests from the spec (valid and invalid ones) and checks each answer
against the documented status codes, content types and schemas, and that nothing is a 500.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, settings

from validator.api import create_app
from validator.config import Settings

SPEC = Path(__file__).parents[2] / "openapi.yaml"
schema = schemathesis.openapi.from_path(SPEC)


@pytest.fixture(scope="module")
def base_url(dns_server) -> Iterator[str]:
    """The real service on an ephemeral loopback port, in a thread with its own event loop."""
    host, port = dns_server.address
    app_settings = dataclasses.replace(Settings(), dns_nameservers=((host, port),), dns_timeout=0.2, dns_tries=1)
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(create_app(app_settings))
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = runner.addresses[0][1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)
    loop.close()


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_service_matches_its_spec(case, base_url):
    case.call_and_validate(base_url=base_url)
