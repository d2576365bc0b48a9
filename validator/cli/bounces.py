"""``validator ingest PATH...`` and ``validator report``: bounce ingestion from files, and its health.

``ingest`` reads .eml files, mbox files, Maildir folders and JSON/NDJSON event files (a folder
is walked), applies what they teach to the configured store (``--dry-run``: classify only),
and prints a summary; ``--json`` prints one record per recipient instead, as the API does.
``--provider NAME`` reads the JSON files as that ESP's payloads instead of our events: an
exported history (a SendGrid bounce list, SparkPost Events API pages, stored webhook bodies),
read by the webhook readers without verification, since the operator brought the files.
A file or message that cannot be read is counted as unparseable, with its name, never fatal.
"""

from __future__ import annotations

import argparse
import asyncio
import mailbox
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from validator.bounces.events import read_event_file
from validator.bounces.facts import BounceFact
from validator.bounces.ingest import Ingestor
from validator.bounces.plan import Decision
from validator.bounces.policy import learning_policy
from validator.bounces.rates import report, tally, thresholds_from
from validator.bounces.readers.message import read_message
from validator.bounces.webhooks import PROVIDERS, read_trusted
from validator.cli.render import print_json_line, render_table
from validator.cli.store_access import actor, opened_store
from validator.config import Settings
from validator.errors import FileUnusable, ValidatorError
from validator.store import open_store
from validator.wire.body import decode_json, decode_utf8
from validator.wire.bounces import decision_json, report_filters

BATCH = 500  # facts per store transaction
_EVENT_SUFFIXES = {".json": "application/json", ".ndjson": "application/x-ndjson", ".jsonl": "application/x-ndjson"}
_EXPORT_EVENTS = 10_000_000  # a provider's export is one file, already read whole: no per-request bound


def add_commands(commands: Any) -> None:
    ingest = commands.add_parser("ingest", help="learn from bounce files: .eml, mbox, Maildir, JSON/NDJSON events")
    ingest.add_argument("paths", nargs="+", metavar="PATH")
    ingest.add_argument("--json", action="store_true", help="print one JSON record per recipient")
    ingest.add_argument("--dry-run", action="store_true", help="classify only; the store is not touched")
    ingest.add_argument(
        "--provider",
        choices=sorted(PROVIDERS),
        help="read JSON/NDJSON files as this ESP's webhook payloads or event exports (one payload per NDJSON line)",
    )
    ingest.set_defaults(run=_ingest)
    rates = commands.add_parser("report", help="print the bounce-rate health report")
    for name in ("campaign-id", "sender", "since", "until"):
        rates.add_argument(f"--{name}")
    rates.add_argument("--json", action="store_true", help="print the API's JSON instead of a table")
    rates.set_defaults(run=_report)


@dataclass
class Summary:
    messages: int = 0
    recipients: int = 0
    categories: Counter[str] = field(default_factory=Counter)
    actions: Counter[str] = field(default_factory=Counter)
    unparseable: list[str] = field(default_factory=list)


def sources(paths: list[str]) -> Iterator[tuple[str, bytes | None, str | None]]:
    """(name, bytes, events content type or None for a message); bytes None: unreadable."""
    for text in paths:
        path = Path(text)
        if path.is_dir() and (path / "cur").is_dir() and (path / "new").is_dir():
            for key, message in mailbox.Maildir(path, create=False).iteritems():
                yield f"{path}/{key}", message.as_bytes(), None
        elif path.is_dir():
            yield from sources(sorted(str(p) for p in path.iterdir() if not p.name.startswith(".")))
        else:
            try:
                with path.open("rb") as file:
                    head = file.read(5)
            except OSError:
                yield str(path), None, None
                continue
            if path.suffix.lower() in _EVENT_SUFFIXES:
                yield str(path), path.read_bytes(), _EVENT_SUFFIXES[path.suffix.lower()]
            elif head == b"From ":
                for i, mbox_message in enumerate(mailbox.mbox(path, create=False)):
                    yield f"{path}#{i + 1}", mbox_message.as_bytes(), None
            else:
                yield str(path), path.read_bytes(), None


def read_export(raw: bytes, content_type: str, provider: str) -> list[BounceFact]:
    """A provider's exported events: a JSON document, or one payload per NDJSON line."""
    if content_type == "application/json":
        return list(read_trusted(provider, decode_json(raw), max_events=_EXPORT_EVENTS).facts)
    lines = (line for line in decode_utf8(raw).split("\n") if line.strip())
    return [fact for line in lines for fact in read_trusted(provider, decode_json(line.encode())).facts]


def _ingest(args: argparse.Namespace, settings: Settings) -> int:
    for name in args.paths:  # a path named here that is not there is a mistake, not an unparseable message
        if not Path(name).exists():
            raise FileUnusable(f"cannot read {name}: no such file or folder")
    summary = asyncio.run(_ingest_all(args, settings))
    if not args.json:
        sys.stdout.write(render_summary(summary))
    return 0


async def _ingest_all(args: argparse.Namespace, settings: Settings) -> Summary:
    # A dry run decides against the stored history (a report seen before is a duplicate), but
    # never creates a store: where there is none, the history is empty.
    exists = not settings.database_url.startswith("sqlite:///") or Path(settings.database_url[10:]).exists()
    store = (
        None
        if args.dry_run and not exists
        else await open_store(settings.database_url, timeout=settings.store_timeout, key_filters=False)
    )
    ingestor, summary = Ingestor(store, learning_policy(settings)), Summary()
    pending: list[BounceFact] = []
    who, started, shown = actor(), time.monotonic(), 0.0

    async def flush() -> None:
        if pending:
            decisions = await ingestor.ingest(pending, source="file", actor=who, dry_run=args.dry_run)
            _count(summary, decisions, args.json)
            pending.clear()

    try:
        for name, raw, content_type in sources(args.paths):
            summary.messages += 1
            try:
                if raw is None:
                    raise ValidatorError("unreadable")
                if content_type is None:
                    pending.extend(read_message(raw))
                elif args.provider is not None:
                    pending.extend(read_export(raw, content_type, args.provider))
                else:
                    for where, event in read_event_file(raw, content_type):
                        if isinstance(event, ValidatorError):  # named with its line; the file reads on
                            summary.unparseable.append(f"{name} {where}: {event.message}")
                            continue
                        pending.append(event)
                        if len(pending) >= BATCH:
                            await flush()
            except ValidatorError:
                summary.unparseable.append(name)
            if len(pending) >= BATCH:
                await flush()
            if time.monotonic() - shown > 0.5:
                shown = time.monotonic()
                _progress(summary.messages, shown - started)
        await flush()
    finally:
        if store is not None:
            await store.close()
    _progress(summary.messages, time.monotonic() - started, done=True)
    return summary


def _count(summary: Summary, decisions: list[Decision], as_json: bool) -> None:
    for decision in decisions:
        summary.recipients += 1
        summary.categories[decision.record.category.value] += 1
        summary.actions[decision.outcome.value] += 1
        if as_json:
            print_json_line(decision_json(decision))


def _progress(messages: int, elapsed: float, done: bool = False) -> None:
    if sys.stderr.isatty() or done:
        rate = messages / elapsed if elapsed > 0 else 0.0
        sys.stderr.write(f"\r{messages} messages, {rate:,.0f}/s" + ("\n" if done else ""))
        sys.stderr.flush()


def render_summary(summary: Summary) -> str:
    lines = [
        f"messages      {summary.messages}",
        f"recipients    {summary.recipients}",
        f"unparseable   {len(summary.unparseable)}",
    ]
    lines += [f"  {name}" for name in summary.unparseable]
    lines.append("categories")
    lines += [f"  {name:<16}{count}" for name, count in summary.categories.most_common()]
    lines.append("actions")
    lines += [f"  {name:<20}{count}" for name, count in summary.actions.most_common()]
    return "\n".join(lines) + "\n"


def _report(args: argparse.Namespace, settings: Settings) -> int:
    query = {
        k: v
        for k, v in (
            ("campaign_id", args.campaign_id),
            ("sender", args.sender),
            ("since", args.since),
            ("until", args.until),
        )
        if v is not None
    }
    filters = report_filters(query)
    body = asyncio.run(_report_body(settings, filters))
    if args.json:
        print_json_line(body)
        return 0
    rows = [("COUNT", "VALUE")] + [(k, str(v)) for k, v in body["counts"].items()]
    rows += [("RATE", "PERCENT / OF / BASIS / LEVEL")]
    for name, rate in body["rates"].items():
        percent = "-" if rate["percent"] is None else f"{rate['percent']:.3f}%"
        rows.append((name, f"{percent} of {rate['denominator']} ({rate['basis']}) {rate['level'] or '-'}"))
    sys.stdout.write(render_table(rows))
    return 0


async def _report_body(settings: Settings, filters: dict[str, Any]) -> dict[str, Any]:
    async with opened_store(settings) as store:
        groups, open_soft = await store.count_events(**filters)
    return report(tally(groups, open_soft), thresholds_from(settings))
