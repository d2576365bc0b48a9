"""API key routes (admin scope): create, list and revoke keys, publishable ones included.

The token is in the creation answer only; the store keeps a hash of its secret (``store.keys``).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from validator.api import app_keys as keys
from validator.api.middleware import json_response
from validator.errors import InvalidField, MissingField, NotFound
from validator.model import ORIGIN_PREFIX, ApiKey
from validator.wire.api_keys import requested_scopes
from validator.wire.body import decode_json
from validator.wire.validation import iso_time, object_with

routes = web.RouteTableDef()
_CREATE_FIELDS = frozenset({"name", "scopes", "origins"})


def key_json(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "scopes": sorted(s for s in key.scopes if not s.startswith(ORIGIN_PREFIX)),
        "origins": sorted(key.origins),
        "publishable": key.publishable,
        "created_at": iso_time(key.created_at),
        "revoked_at": iso_time(key.revoked_at),
        "last_used_at": iso_time(key.last_used_at),
    }


def _strings(data: dict[str, Any], name: str) -> list[str]:
    value = data.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and len(v) <= 300 for v in value) or len(value) > 100:
        raise InvalidField("must be an array of at most 100 strings", field=name)
    return value


@routes.post("/v1/keys")
async def create(request: web.Request) -> web.Response:
    data = object_with(decode_json(await request.read()), _CREATE_FIELDS)
    if not isinstance(data.get("name"), str):
        raise MissingField("field 'name' is required (a string)", field="name")
    scopes = requested_scopes(_strings(data, "scopes"), _strings(data, "origins"))
    key, token = await request.app[keys.STORE].create_api_key(data["name"], scopes)
    request.app[keys.PUBLISHABLE_GATE].forget_origins()
    return json_response({**key_json(key), "token": token}, status=201)


@routes.get("/v1/keys")
async def list_keys(request: web.Request) -> web.Response:
    return json_response({"items": [key_json(k) for k in await request.app[keys.STORE].list_api_keys()]})


@routes.delete("/v1/keys/{key_id}")
async def revoke(request: web.Request) -> web.Response:
    """Revoked at once in this process; other processes and replicas within the key cache's 5 s."""
    key_id = request.match_info["key_id"]
    if len(key_id) != 16 or not await request.app[keys.STORE].revoke_api_key(key_id):
        raise NotFound(f"no active key with id {key_id!r}")
    request.app[keys.PUBLISHABLE_GATE].forget_origins()
    return web.Response(status=204)
