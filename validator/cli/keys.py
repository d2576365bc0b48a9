"""``validator keys create|list|revoke``: API keys, on the configured store.

The scopes a key may hold and the rules for publishable (browser) keys are the API's own
(``wire/api_keys.py``), so a key made here is exactly one the API could have made. A token
is printed once, on standard output, and never again.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import Any

from validator import errors
from validator.cli.render import render_table
from validator.cli.store_access import on_store
from validator.model import PUBLISHABLE
from validator.store.protocols import ApiKeyStore
from validator.wire.api_keys import SCOPES, requested_scopes


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
    create.set_defaults(run=lambda a, s: on_store(s, _keys_create, a))
    keys.add_parser("list", help="list keys").set_defaults(run=lambda a, s: on_store(s, _keys_list, a))
    revoke = keys.add_parser("revoke", help="revoke a key by id or name")
    revoke.add_argument("key")
    revoke.set_defaults(run=lambda a, s: on_store(s, _keys_revoke, a))


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
    sys.stdout.write(render_table(rows))
    return 0


async def _keys_revoke(store: ApiKeyStore, args: argparse.Namespace) -> int:
    if not await store.revoke_api_key(args.key):
        raise errors.NotFound(f"no active key with id or name {args.key!r}")
    print(f"revoked {args.key}", file=sys.stderr)
    return 0
