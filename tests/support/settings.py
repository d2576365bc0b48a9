"""The one place tests build ``Settings``: the service's defaults with what a test on loopback changes.

A test names only the settings its behaviour depends on (``make_settings(dns, database_url=url,
job_chunk_rows=4)``); the rest stays as the shipped defaults, so a new default reaches every test.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from tests.support.dnsserver import DnsServer
from validator.config import Settings

ON_LOOPBACK: dict[str, Any] = {
    # the test DNS server answers in well under a millisecond when the machine is idle, but a loaded
    # CI machine (and the job child at SCHED_IDLE) can wait hundreds of ms for a CPU: 0.3 s failed there
    "dns_timeout": 2.0,
    "dns_tries": 1,
    "job_process": False,  # the job runner in the test's own process and event loop: no child to start
    "auth": False,  # authentication has its own tests (test_auth.py, test_publishable.py), which set it
}


def make_settings(dns: DnsServer | None = None, **overrides: Any) -> Settings:
    """Settings for a service under test, checked as ``Settings.from_env`` checks them: DNS at the test
    server ``dns`` (the system's resolvers when None and not overridden), one DNS try, the job
    runner in process, no authentication, then ``overrides``."""
    values = dict(ON_LOOPBACK)
    if dns is not None:
        values["dns_nameservers"] = (dns.address,)
    return dataclasses.replace(Settings(), **(values | overrides)).checked()
