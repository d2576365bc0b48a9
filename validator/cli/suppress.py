"""``validator suppress add|remove|show|import|export``: the suppression list, on the configured store.

Each change records ``cli:<user>`` as the actor in the audit trail. Parsing of addresses,
domains and CSV rows is the API's own (``suppressions/keys.py``, ``wire/suppressions.py``), so
both edges accept exactly the same input.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import AsyncIterator
from typing import Any

from validator import errors
from validator.cli.files import open_input
from validator.cli.render import print_json
from validator.cli.store_access import actor, on_store
from validator.model import SuppressionEntry, SuppressionKind, SuppressionReason
from validator.store.protocols import SuppressionStore
from validator.suppressions.importer import import_rows
from validator.suppressions.keys import ImportParser, ImportRow, parse_domain_key, parse_email_key, parse_time
from validator.wire import suppressions as sw
from validator.wire.validation import suppression_json


def add_commands(commands: Any) -> None:
    suppress = commands.add_parser("suppress", help="manage the suppression list").add_subparsers(required=True)
    add = suppress.add_parser("add", help="suppress an address (or --domain)")
    _target(add)
    add.add_argument("--reason", default="manual", choices=[r.value for r in SuppressionReason])
    add.add_argument("--source", default="cli")
    add.add_argument("--detail")
    add.add_argument("--expires-at", help="ISO 8601 with a zone, e.g. 2027-01-01T00:00:00Z")
    add.add_argument("--why")
    add.set_defaults(run=lambda a, s: on_store(s, _suppress_add, a))
    remove = suppress.add_parser("remove", help="lift a suppression")
    _target(remove)
    remove.add_argument("--why")
    remove.set_defaults(run=lambda a, s: on_store(s, _suppress_remove, a))
    show = suppress.add_parser("show", help="print an entry and its audit trail as JSON")
    _target(show)
    show.set_defaults(run=lambda a, s: on_store(s, _suppress_show, a))
    imp = suppress.add_parser("import", help="import a CSV file (header: email or domain, reason, ...)")
    imp.add_argument("file", help="path, or - for standard input")
    imp.add_argument("--reason", default="manual", choices=[r.value for r in SuppressionReason])
    imp.add_argument("--source", default="import")
    imp.add_argument("--why")
    imp.set_defaults(run=lambda a, s: on_store(s, _suppress_import, a))
    exp = suppress.add_parser("export", help="write the whole list as CSV to standard output")
    exp.set_defaults(run=lambda a, s: on_store(s, _suppress_export, a))


def _target(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", metavar="ADDRESS|DOMAIN")
    parser.add_argument("--domain", action="store_true", help="the target is a whole domain")


def _key(args: argparse.Namespace) -> tuple[SuppressionKind, str]:
    if args.domain:
        return SuppressionKind.DOMAIN, parse_domain_key(args.target, "target")
    return SuppressionKind.ADDRESS, parse_email_key(args.target, "target")


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
    stored, added = await store.put_suppression(entry, actor=actor(), why=args.why)
    print(f"{'added' if added else 'updated'} {stored.kind.value} {stored.value}", file=sys.stderr)
    return 0


async def _suppress_remove(store: SuppressionStore, args: argparse.Namespace) -> int:
    kind, value = _key(args)
    if await store.delete_suppression(kind, value, actor=actor(), why=args.why) is None:
        raise errors.NotFound(f"{value} is not suppressed")
    print(f"removed {kind.value} {value}", file=sys.stderr)
    return 0


async def _suppress_show(store: SuppressionStore, args: argparse.Namespace) -> int:
    kind, value = _key(args)
    entry = await store.get_suppression(kind, value)
    if entry is None:
        raise errors.NotFound(f"{value} is not suppressed")
    audit = await store.audit_trail(kind, value)
    print_json({**suppression_json(entry), "audit": [sw.audit_json(row) for row in audit]})
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

    totals = await import_rows(store, chunks(), actor=actor(), why=args.why, on_invalid=note)
    print(", ".join(f"{k} {v}" for k, v in dataclasses.asdict(totals).items()), file=sys.stderr)
    return 2 if totals.invalid else 0


async def _suppress_export(store: SuppressionStore, args: argparse.Namespace) -> int:
    out = sys.stdout
    out.write(sw.csv_header())
    async for entry in store.iter_suppressions():
        out.write(sw.csv_row(entry))
    return 0
