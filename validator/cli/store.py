"""``validator keys ...`` and ``validator suppress ...``: working directly on the configured store.

These commands open the store named by ``VALIDATOR_DATABASE_URL`` (no server needed) and
record ``cli:<user>`` as the actor in the audit trail. Parsing of addresses, domains and CSV
rows is the API's own (``api.suppression_wire``), so both edges accept exactly the same input.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import getpass
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

import orjson

from validator import errors
from validator.cli.main import open_input, shown_url
from validator.config import Settings
from validator.model import PUBLISHABLE, SuppressionEntry, SuppressionKind, SuppressionReason
from validator.store import Store, open_store
from validator.store.protocols import ApiKeyStore, SuppressionStore
from validator.suppressions.importer import import_rows
from validator.suppressions.keys import ImportParser, ImportRow, parse_domain_key, parse_email_key, parse_time
from validator.wire import suppressions as sw
from validator.wire.api_keys import SCOPES, requested_scopes
from validator.wire.validation import suppression_json

T = TypeVar("T")


def add_commands(commands: Any) -> None:
    keys = commands.add_parser("keys", help="create, list and revoke API keys").add_subparsers(required=True)
    create = keys.add_parser("create", help="create a key and print its token (shown once)")
    create.add_argument("--name", required=True)
    create.add_argument("--scope", action="append", default=[], choices=SCOPES, dest="scopes")
    create.add_argument(
        "--publishable",
        action="store_true",
        help="a browser-safe pk_ key: POST /v1/validate only, from the --origin pages only",
    )
    create.add_argument(
        "--origin",
        action="append",
        default=[],
        dest="origins",
        help="a page origin a publishable key may be used from, e.g. https://shop.example",
    )
    create.set_defaults(run=lambda a, s: _on_store(s, _keys_create, a))
    keys.add_parser("list", help="list keys").set_defaults(run=lambda a, s: _on_store(s, _keys_list, a))
    revoke = keys.add_parser("revoke", help="revoke a key by id or name")
    revoke.add_argument("key")
    revoke.set_defaults(run=lambda a, s: _on_store(s, _keys_revoke, a))

    suppress = commands.add_parser("suppress", help="manage the suppression list").add_subparsers(required=True)
    add = suppress.add_parser("add", help="suppress an address (or --domain)")
    _target(add)
    add.add_argument("--reason", default="manual", choices=[r.value for r in SuppressionReason])
    add.add_argument("--source", default="cli")
    add.add_argument("--detail")
    add.add_argument("--expires-at", help="ISO 8601 with a zone, e.g. 2027-01-01T00:00:00Z")
    add.add_argument("--why")
    add.set_defaults(run=lambda a, s: _on_store(s, _suppress_add, a))
    remove = suppress.add_parser("remove", help="lift a suppression")
    _target(remove)
    remove.add_argument("--why")
    remove.set_defaults(run=lambda a, s: _on_store(s, _suppress_remove, a))
    show = suppress.add_parser("show", help="print an entry and its audit trail as JSON")
    _target(show)
    show.set_defaults(run=lambda a, s: _on_store(s, _suppress_show, a))
    imp = suppress.add_parser("import", help="import a CSV file (header: email or domain, reason, ...)")
    imp.add_argument("file", help="path, or - for standard input")
    imp.add_argument("--reason", default="manual", choices=[r.value for r in SuppressionReason])
    imp.add_argument("--source", default="import")
    imp.add_argument("--why")
    imp.set_defaults(run=lambda a, s: _on_store(s, _suppress_import, a))
    exp = suppress.add_parser("export", help="write the whole list as CSV to standard output")
    exp.set_defaults(run=lambda a, s: _on_store(s, _suppress_export, a))


def _target(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", metavar="ADDRESS|DOMAIN")
    parser.add_argument("--domain", action="store_true", help="the target is a whole domain")


def _on_store(settings: Settings, command: Callable[[Store, argparse.Namespace], Awaitable[int]], args: Any) -> int:
    print(f"store: {shown_url(settings.database_url)}", file=sys.stderr)  # which one, when several exist

    async def run() -> int:
        store = await open_store(settings.database_url, timeout=settings.store_timeout)
        try:
            return await command(store, args)
        finally:
            await store.close()

    return asyncio.run(run())


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def _key(args: argparse.Namespace) -> tuple[SuppressionKind, str]:
    if args.domain:
        return SuppressionKind.DOMAIN, parse_domain_key(args.target, "target")
    return SuppressionKind.ADDRESS, parse_email_key(args.target, "target")


def _print_json(data: object) -> None:
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")


async def _keys_create(store: ApiKeyStore, args: argparse.Namespace) -> int:
    scopes = requested_scopes([*args.scopes, *([PUBLISHABLE] if args.publishable else [])], args.origins)
    key, token = await store.create_api_key(args.name, scopes)
    print(f"created key {key.id} ({key.name}) with scopes {', '.join(sorted(key.scopes))}", file=sys.stderr)
    print("the token is shown once; keep it secret:", file=sys.stderr)
    print(token)
    return 0


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%SZ") if moment is not None else "-"


async def _keys_list(store: ApiKeyStore, args: argparse.Namespace) -> int:
    rows = [("ID", "NAME", "SCOPES", "CREATED", "REVOKED")]
    for key in await store.list_api_keys():
        rows.append((key.id, key.name, ",".join(sorted(key.scopes)), _when(key.created_at), _when(key.revoked_at)))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    return 0


async def _keys_revoke(store: ApiKeyStore, args: argparse.Namespace) -> int:
    if not await store.revoke_api_key(args.key):
        raise errors.NotFound(f"no active key with id or name {args.key!r}")
    print(f"revoked {args.key}", file=sys.stderr)
    return 0


async def _suppress_add(store: SuppressionStore, args: argparse.Namespace) -> int:
    kind, value = _key(args)
    entry = SuppressionEntry(
        kind,
        value,
        SuppressionReason(args.reason),
        args.source,
        args.detail,
        parse_time(args.expires_at, "--expires-at") if args.expires_at else None,
    )
    stored, added = await store.put_suppression(entry, actor=_actor(), why=args.why)
    print(f"{'added' if added else 'updated'} {stored.kind.value} {stored.value}", file=sys.stderr)
    return 0


async def _suppress_remove(store: SuppressionStore, args: argparse.Namespace) -> int:
    kind, value = _key(args)
    if await store.delete_suppression(kind, value, actor=_actor(), why=args.why) is None:
        raise errors.NotFound(f"{value} is not suppressed")
    print(f"removed {kind.value} {value}", file=sys.stderr)
    return 0


async def _suppress_show(store: SuppressionStore, args: argparse.Namespace) -> int:
    kind, value = _key(args)
    entry = await store.get_suppression(kind, value)
    if entry is None:
        raise errors.NotFound(f"{value} is not suppressed")
    audit = await store.audit_trail(kind, value)
    _print_json({**suppression_json(entry), "audit": [sw.audit_json(row) for row in audit]})
    return 0


async def _suppress_import(store: SuppressionStore, args: argparse.Namespace) -> int:
    """Invalid rows go to standard error with their line numbers as they are met."""
    parser = ImportParser(SuppressionReason(args.reason), args.source)
    source = open_input(args.file)

    async def chunks() -> AsyncIterator[list[ImportRow]]:
        with source:
            for data in iter(lambda: source.read(1 << 16), b""):  # millions of rows never sit in memory
                yield parser.feed(data)
        yield parser.finish()

    def note(row: ImportRow) -> None:
        print(f"line {row.line}: {row.error}", file=sys.stderr)

    totals = await import_rows(store, chunks(), actor=_actor(), why=args.why, on_invalid=note)
    print(", ".join(f"{k} {v}" for k, v in dataclasses.asdict(totals).items()), file=sys.stderr)
    return 2 if totals.invalid else 0


async def _suppress_export(store: SuppressionStore, args: argparse.Namespace) -> int:
    out = sys.stdout
    out.write(sw.csv_header())
    async for entry in store.iter_suppressions():
        out.write(sw.csv_row(entry))
    return 0
