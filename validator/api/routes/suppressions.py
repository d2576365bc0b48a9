"""Suppression-list routes: parse (suppression_wire) → call (store) → serialise.

The actor recorded in the audit trail is the API key's name (``key:<name>``), or
``anonymous`` when authentication is off.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

from aiohttp import web

from validator.api import app_keys as keys
from validator.api.middleware import json_response
from validator.errors import NotFound, UnsupportedMediaType
from validator.model import SuppressionKind
from validator.store.protocols import SuppressionStore
from validator.suppressions.importer import import_rows
from validator.suppressions.keys import (
    ImportParser,
    ImportRow,
    entry_for_keys,
    lookup_keys,
    parse_domain_key,
    parse_email_key,
)
from validator.wire import suppressions as sw
from validator.wire.validation import suppression_json

routes = web.RouteTableDef()
IMPORT_INVALID_LISTED = 1000  # invalid rows listed with their line numbers; the rest are counted


def actor_of(request: web.Request) -> str:
    key = request.get(keys.API_KEY_NAME)
    return f"key:{key}" if key else "anonymous"


def _key_of(request: web.Request) -> tuple[SuppressionKind, str]:
    if "domain" in request.match_info:
        return SuppressionKind.DOMAIN, parse_domain_key(request.match_info["domain"])
    return SuppressionKind.ADDRESS, parse_email_key(request.match_info["email"])


async def _get(request: web.Request) -> web.Response:
    kind, value = _key_of(request)
    store: SuppressionStore = request.app[keys.STORE]
    entry = await store.get_suppression(kind, value)
    if entry is None:
        raise NotFound(f"{value} is not suppressed")
    history = await store.audit_trail(kind, value)
    return json_response({**suppression_json(entry), "audit": [sw.audit_json(row) for row in history]})


async def _put(request: web.Request) -> web.Response:
    kind, value = _key_of(request)
    put = sw.parse_put(await request.read(), kind, value, default_source="api")
    entry, added = await request.app[keys.STORE].put_suppression(put.entry, actor=actor_of(request), why=put.why)
    return json_response(suppression_json(entry), status=201 if added else 200)


async def _delete(request: web.Request) -> web.Response:
    kind, value = _key_of(request)
    why = request.query.get("why")
    store: SuppressionStore = request.app[keys.STORE]
    removed = await store.delete_suppression(kind, value, actor=actor_of(request), why=why)
    if removed is None:
        raise NotFound(f"{value} is not suppressed")
    history = await store.audit_trail(kind, value)  # the removal included: who lifted it, and why
    return json_response({**suppression_json(removed), "audit": [sw.audit_json(row) for row in history]})


# `{email}` must hold an @, so it never shadows /lookup and /import (a 405 there would list its methods).
for path in ("/v1/suppressions/domains/{domain}", "/v1/suppressions/{email:[^/]*@[^/]*}"):
    routes.get(path)(_get)
    routes.put(path)(_put)
    routes.delete(path)(_delete)


@routes.post("/v1/suppressions/lookup")
async def lookup(request: web.Request) -> web.Response:
    emails = sw.parse_lookup(await request.read(), request.app[keys.SETTINGS].lookup_max)
    keyed = [lookup_keys(e) for e in emails]
    valid = [k for k in keyed if k is not None]
    found = await request.app[keys.STORE].find_suppressions([a for a, _ in valid], list({d for _, d in valid}))
    answers = [
        (email, False, None) if k is None else (email, True, entry_for_keys(k, found))
        for email, k in zip(emails, keyed, strict=True)
    ]
    return web.Response(body=sw.lookup_body(answers), content_type="application/json")


@routes.get("/v1/suppressions")
async def list_suppressions(request: web.Request) -> web.StreamResponse:
    query = sw.parse_list_query(request.query)
    store: SuppressionStore = request.app[keys.STORE]
    if query.format == "csv":
        return await _stream_csv(request, store.iter_suppressions(**query.filters))
    items, cursor = await store.list_suppressions(query.cursor, query.limit, **query.filters)
    return json_response({"items": [suppression_json(e) for e in items], "next_cursor": cursor})


async def _stream_csv(request: web.Request, entries: AsyncIterator[object]) -> web.StreamResponse:
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": 'attachment; filename="suppressions.csv"',
        }
    )
    await response.prepare(request)
    chunk = [sw.csv_header()]
    async for entry in entries:
        chunk.append(sw.csv_row(entry))  # type: ignore[arg-type]
        if len(chunk) >= 500:
            await response.write("".join(chunk).encode())
            chunk = []
    await response.write("".join(chunk).encode())
    await response.write_eof()
    return response


@routes.post("/v1/suppressions/import")
async def import_csv(request: web.Request) -> web.Response:
    if request.content_type not in ("text/csv", "text/plain"):
        raise UnsupportedMediaType("send the CSV with Content-Type: text/csv")
    defaults = sw.parse_import_query(request.query)
    listed: list[dict[str, object]] = []

    def note(row: ImportRow) -> None:
        if len(listed) < IMPORT_INVALID_LISTED:
            listed.append({"line": row.line, "error": row.error})

    totals = await import_rows(
        request.app[keys.STORE],
        _csv_rows(request, defaults),
        actor=actor_of(request),
        why=defaults.why,
        on_invalid=note,
    )
    return json_response({**dataclasses.asdict(totals), "invalid_rows": listed})


async def _csv_rows(request: web.Request, defaults: sw.ImportQuery) -> AsyncIterator[list[ImportRow]]:
    """Parse the body as it arrives, one network chunk at a time: memory is bounded by a chunk."""
    parser = ImportParser(defaults.reason, defaults.source)
    async for data in request.content.iter_chunked(1 << 16):
        yield parser.feed(data)
    yield parser.finish()
