"""``validator check ADDRESS...``: verdicts for a few addresses, here, as a table or as the API's JSON.

The work is the Checker's, assembled by ``runtime.open_services`` as for the API; the exit
code is 1 when an address is undeliverable, so a script can branch on it like on ``grep``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from typing import Any

from validator.cli.exits import EXIT_UNDELIVERABLE
from validator.cli.render import print_json_line, render_table
from validator.config import Settings
from validator.model import Status, Verdict


def add_commands(commands: Any) -> None:
    check = commands.add_parser("check", help="validate addresses and print the verdicts")
    check.add_argument("addresses", nargs="+", metavar="ADDRESS")
    check.add_argument("--json", action="store_true", help="print one JSON verdict per line (the API's shape)")
    check.add_argument("--timeout-ms", type=int, help="deadline per address (default VALIDATOR_DEFAULT_TIMEOUT_MS)")
    check.add_argument("--dns-nameservers", help="overrides VALIDATOR_DNS_NAMESERVERS")
    check.add_argument(
        "--smtp",
        action="store_true",
        help="also ask the MX hosts with an SMTP RCPT probe (turns VALIDATOR_SMTP_PROBE on for this run; "
        "the network guard and every other VALIDATOR_SMTP_* limit still apply)",
    )
    check.set_defaults(run=_check)


def _check(args: argparse.Namespace, settings: Settings) -> int:
    settings = settings.with_values(dns_nameservers=args.dns_nameservers, smtp_probe="true" if args.smtp else None)
    verdicts = asyncio.run(_check_all(settings, args.addresses, args.timeout_ms, args.smtp))
    if args.json:
        from validator.wire.validation import verdict_json

        for verdict in verdicts:
            print_json_line(verdict_json(verdict))
    else:
        sys.stdout.write(verdict_table(verdicts))
    return EXIT_UNDELIVERABLE if any(v.status is Status.UNDELIVERABLE for v in verdicts) else 0


async def _check_all(settings: Settings, addresses: list[str], timeout_ms: int | None, smtp: bool) -> list[Verdict]:
    from validator.runtime import open_services

    async with open_services(settings, smtp=smtp, key_filters=False) as services:
        return await services.checker.check_many(addresses, timeout_ms, smtp=smtp)


def verdict_table(verdicts: Sequence[Verdict]) -> str:
    rows = [("ADDRESS", "STATUS", "ACTION", "REASONS", "SUGGESTION")]
    for v in verdicts:
        rows.append((v.email, v.status.value, v.action.value, ",".join(v.reasons) or "-", v.suggestion or "-"))
    return render_table(rows)
