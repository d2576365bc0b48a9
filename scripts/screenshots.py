"""Screenshots of the signup widget and the dashboard for docs/, taken in Debian's headless Chromium
against the real service on loopback (the browser tests' harness and DNS server).

    .venv/bin/python scripts/screenshots.py     # writes docs/widget.png, docs/dashboard-*.png
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))  # tests.support.* from the repository root

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from tests.support.browser import EXAMPLES, ServiceProcess, page_server, seed_dashboard, seed_zone, start_browser  # noqa: E402
from tests.support.dnsserver import DnsServer  # noqa: E402

DOCS = ROOT / "docs"


def main() -> None:
    with DnsServer() as dns, tempfile.TemporaryDirectory() as work:
        seed_zone(dns.zone)
        service = ServiceProcess(Path(work), dns.nameserver).start()
        browser = start_browser(Path(work) / "profile")
        try:
            with page_server(EXAMPLES) as origin:
                key = service.cli("keys", "create", "--name", "signup", "--publishable", "--origin", origin)
                browser.set_window_size(700, 520)
                browser.get(f"{origin}/signup.html#key={key}&service={service.url}")
                WebDriverWait(browser, 10).until(lambda b: b.execute_script("return !!window.EmailValidatorWidget"))
                browser.find_element(By.ID, "name").send_keys("Jane Doe")
                browser.find_element(By.ID, "email").send_keys("jane@gmial.com", Keys.TAB)
                WebDriverWait(browser, 10).until(lambda b: b.find_elements(By.CSS_SELECTOR, ".evw-suggestion"))
                browser.save_screenshot(str(DOCS / "widget.png"))
            admin = service.cli("keys", "create", "--name", "ops", "--scope", "admin")
            seed_dashboard(service, admin, admin)
            browser.set_window_size(1100, 760)
            browser.get(service.url + "/dashboard")
            browser.find_element(By.ID, "key").send_keys(admin, Keys.ENTER)
            for page, name in (
                ("health", "dashboard-health"),
                ("campaigns", "dashboard-campaigns"),
                ("campaign=spring", "dashboard-campaign"),
                ("suppressions", "dashboard-suppressions"),
                ("jobs", "dashboard-jobs"),
            ):
                browser.execute_script(
                    "document.body.removeAttribute('data-ready'); location.hash = arguments[0]", page
                )
                WebDriverWait(browser, 15).until(
                    lambda b, page=page: b.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == page
                )
                time.sleep(0.2)  # let the last paint land
                browser.save_screenshot(str(DOCS / f"{name}.png"))
        finally:
            browser.quit()
            service.stop()
    print("wrote", ", ".join(sorted(p.name for p in DOCS.glob("*.png"))))


if __name__ == "__main__":
    main()
