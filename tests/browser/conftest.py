"""Fixtures of the browser tests: one headless Chromium (Debian's) per module, and the real service.

Chromium is installed by ``scripts/install-browser.sh`` when missing (``tests.support.browser.browser_paths``);
when it cannot be, every test here fails with the reason: a browser test never skips silently.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.browser import ServiceProcess, seed_zone, start_browser


@pytest.fixture(scope="module")
def browser(tmp_path_factory) -> Iterator[object]:
    try:
        driver = start_browser(tmp_path_factory.mktemp("chromium-profile"))
    except Exception as exc:  # noqa: BLE001 - any failure to start is the test's failure, said plainly
        pytest.fail(f"headless Chromium could not start: {exc}", pytrace=False)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def service(dns_server, tmp_path_factory) -> Iterator[ServiceProcess]:
    """The service as ``make serve`` runs it, on loopback, with the sample page's DNS zone."""
    dns_server.clear()
    seed_zone(dns_server.zone)
    # Every page here comes from 127.0.0.1: the per-address limit (tested in integration) is raised.
    # DNS may take 2 s, so a slow answer (slow.example.net, 1 s) is an answer, not a timeout.
    running = ServiceProcess(
        tmp_path_factory.mktemp("service"),
        dns_server.nameserver,
        VALIDATOR_PUBLISHABLE_RATE_PER_IP="1000",
        VALIDATOR_DNS_TIMEOUT="2",
    ).start()
    yield running
    running.stop()
    dns_server.clear()
