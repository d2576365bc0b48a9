"""Fixtures the integration tests share beyond tests/conftest.py: ``make`` builds probing set-ups."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.probing import Probing, probe_settings


@pytest.fixture
async def make(dns, smtp) -> AsyncIterator:
    """``make(**settings)``: a Probing with those settings overridden, closed after the test."""
    made: list[Probing] = []

    def build(**overrides) -> Probing:
        made.append(Probing(probe_settings(dns, smtp, **overrides)))
        return made[-1]

    yield build
    for probing in made:
        await probing.close()
