"""SMTP probes checked against what real sends taught: a domain whose "accepted" keeps bouncing.

Some servers say 250 to RCPT TO and bounce the message later (a gateway in front of the real
mailbox store, a catch-all that is filtered afterwards). Their acceptances prove nothing, but a
random-address test does not show it when the gateway refuses only obviously random names. So
every acceptance is remembered (``store.record_probe_accepts``, written in batches off the
request path), bounce ingestion counts the hard bounces of remembered addresses per domain, and
past ``threshold`` such bounces a domain's acceptances are read as ``accept_all`` (``risky``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging

from validator.errors import StoreUnavailable
from validator.model import Address, ProbeOutcome, ProbeResult
from validator.store.protocols import ProbeLedger
from validator.suppressions.keys import address_key, domain_key

log = logging.getLogger("validator.probe.prober")


class ProbeDisagreements:
    def __init__(self, store: ProbeLedger, threshold: int) -> None:
        self._store, self._threshold = store, threshold
        self._pending: dict[str, str] = {}  # address key -> domain, waiting to be written
        self._writer: asyncio.Task[None] | None = None

    async def review(self, address: Address, result: ProbeResult) -> ProbeResult:
        """``result``, or the same acceptance marked accept-all when the domain's bounces disagree."""
        if result.outcome is not ProbeOutcome.ACCEPTED or result.accept_all:
            return result
        domain = domain_key(address)
        if not result.cached:
            self._remember(address_key(address), domain)
        count = await self._count(domain)
        if count < self._threshold:
            return result
        return dataclasses.replace(
            result,
            accept_all=True,
            detail=(
                f"{count} hard bounces of addresses this domain's servers had accepted: their acceptances prove nothing"
            ),
        )

    def _remember(self, address: str, domain: str) -> None:
        self._pending[address] = domain
        if self._writer is None or self._writer.done():
            self._writer = asyncio.ensure_future(self._write())  # one writer drains what piles up meanwhile

    async def _write(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, {}
            try:
                await self._store.record_probe_accepts(list(batch.items()))
            except StoreUnavailable as exc:  # best effort: a lost record only delays the detection
                log.warning("probe acceptances not recorded: %s", exc.message)

    async def _count(self, domain: str) -> int:
        """Asked afresh each time: one indexed read is nothing beside the SMTP round trips of a probe."""
        try:
            return (await self._store.probe_disagreements([domain])).get(domain, 0)
        except StoreUnavailable:
            return 0

    async def close(self) -> None:
        if self._writer is not None:
            await self._writer
