"""The configured store, opened for one command and closed after it, and who the audit trail
records as acting.

``keys``, ``suppress``, ``ingest`` and ``report`` work directly on the store named by
``VALIDATOR_DATABASE_URL`` (no server needed); ``keys`` and ``suppress`` first say on standard
error which store that is, since one user may have several (docs/cli.md).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import sys
from collections.abc import AsyncIterator, Awaitable, Callable

from validator.cli.render import shown_url
from validator.config import Settings
from validator.store import Store, open_store


@contextlib.asynccontextmanager
async def opened_store(settings: Settings) -> AsyncIterator[Store]:
    store = await open_store(settings.database_url, timeout=settings.store_timeout, key_filters=False)
    try:
        yield store
    finally:
        await store.close()


def on_store(
    settings: Settings, command: Callable[[Store, argparse.Namespace], Awaitable[int]], args: argparse.Namespace
) -> int:
    """Run ``command`` on the configured store, after naming it (its password masked) on standard error."""
    print(f"store: {shown_url(settings.database_url)}", file=sys.stderr)

    async def run() -> int:
        async with opened_store(settings) as store:
            return await command(store, args)

    return asyncio.run(run())


def actor() -> str:
    """``cli:<user>``: the audit trail's actor for a change made from the command line."""
    return f"cli:{getpass.getuser()}"
