"""openapi.yaml against the running service: every documented operation, request and response.

Schemathesis generates requests from the spec (valid and invalid ones) and checks each answer
against the documented status codes, content types and schemas, and that nothing is a 500.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, settings
from schemathesis.checks import negative_data_rejection, positive_data_acceptance
from schemathesis.config import SchemathesisConfig
from schemathesis.transport.requests import REQUESTS_TRANSPORT, binary_serializer

from tests.support.settings import make_settings
from validator.api import create_app
from validator.store import open_store

SPEC = Path(__file__).parents[2] / "openapi.yaml"
# A body over VALIDATOR_MAX_BODY_BYTES is refused with 413 before its fields are read: a
# rejection of invalid data like 400, so it counts as one.
# 422: a raw bounce that is no mail message. The token is ours to send (generating a missing or
# broken Authorization is auth's test, not the spec's), and the examples are derandomized so CI
# runs the same cases every time.
CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            "negative_data_rejection": {"expected-statuses": ["400", "401", "403", "404", "405", "413", "415", "422"]}
        },
        "generation": {"with-security-parameters": False},
    }
)
schema = schemathesis.openapi.from_path(SPEC, config=CONFIG)
# A raw bounce (message/rfc822) goes on the wire as the bytes generated for it.
REQUESTS_TRANSPORT.serializer("message/rfc822")(binary_serializer)


@schemathesis.serializer("application/x-ndjson")
def _ndjson(ctx, value) -> bytes:
    """NDJSON: a generated list (events) goes one JSON value per line; a string (a job upload) is the body.

    The empty string is sent as one line holding ``""``: an empty body is also what an empty list of
    events serializes to (a valid, empty batch), so sent as is, a string generated to break the
    events schema would be indistinguishable from valid data."""
    if isinstance(value, list):
        return b"\n".join(json.dumps(item).encode() for item in value)
    if value == "":
        return b'""'
    return value.encode("utf-8", "surrogatepass") if isinstance(value, str) else bytes(str(value), "utf-8")


@pytest.fixture(scope="module")
def service(dns_server, tmp_path_factory) -> Iterator[tuple[str, str]]:
    """The real service on an ephemeral loopback port, in a thread with its own event loop,
    and an admin token for it."""
    database = tmp_path_factory.mktemp("openapi") / "validator.sqlite3"
    app_settings = make_settings(dns_server, dns_timeout=0.2, database_url=f"sqlite:///{database}", auth=True)
    loop = asyncio.new_event_loop()
    token = loop.run_until_complete(_admin_token(app_settings.database_url))
    runner = web.AppRunner(create_app(app_settings))
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = runner.addresses[0][1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}", token
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)
    loop.close()


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_service_matches_its_spec(case, service):
    base_url, token = service
    # An address or domain in a path, and an opaque paging cursor, are strings to the schema
    # but must parse as what they are (400 invalid_field, documented): "schema-valid must be
    # accepted" cannot hold for them.
    # Likewise any bytes are a schema-valid raw bounce but must be a mail message (422), and a
    # webhook must carry its provider's signature (401/404).
    parses = "{" in case.path or case.path in ("/v1/suppressions", "/v1/bounces", "/v1/jobs")
    excluded = [positive_data_acceptance] if parses else []
    if case.path == "/v1/jobs" and case.method == "POST":
        # A CSV needs an address column and a callback URL a public host (400, documented), which
        # "schema-valid" strings need not be; and any text is a CSV whose odd rows are answered.
        excluded += [positive_data_acceptance, negative_data_rejection]
    if case.path == "/v1/keys" and case.method == "POST":
        # Origins must be origins, and only with the scope publishable alone (400, documented).
        excluded.append(positive_data_acceptance)
    if case.path == "/v1/suppressions/import":
        # Any text is a CSV; rows that are not entries are answered 200 with their line numbers.
        excluded.append(negative_data_rejection)
    case.call_and_validate(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, excluded_checks=excluded)


async def _admin_token(url: str) -> str:
    store = await open_store(url)
    try:
        return (await store.create_api_key("openapi", ["admin"]))[1]
    finally:
        await store.close()


def test_every_error_code_is_in_the_spec():
    import yaml

    from validator import errors

    spec = yaml.safe_load(SPEC.read_text())
    documented = set(spec["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"])

    def codes(cls: type) -> set[str]:
        return {cls.code} | {c for sub in cls.__subclasses__() for c in codes(sub)}

    assert codes(errors.ValidatorError) <= documented
