"""The dashboard in headless Chromium against the real service, with seeded events, suppressions and a
finished job: every page renders what the JSON API holds, and the key stays in the tab."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.support.browser import seed_dashboard

READER_SCOPES = ("reports:read", "suppressions:read", "suppressions:write", "jobs")


@pytest.fixture(scope="module")
def seeded(service) -> dict[str, str]:
    admin = service.cli("keys", "create", "--name", "ops", "--scope", "admin")
    reader = service.cli(
        "keys", "create", "--name", "deliverability", *(arg for scope in READER_SCOPES for arg in ("--scope", scope))
    )
    seed_dashboard(service, admin, reader)
    return {"reader": reader, "url": service.url}


@pytest.fixture
def signed_in(browser, seeded):
    browser.get(seeded["url"] + "/dashboard")
    browser.execute_script("sessionStorage.clear()")
    browser.get(seeded["url"] + "/dashboard")
    browser.find_element(By.ID, "key").send_keys(seeded["reader"])
    browser.find_element(By.CSS_SELECTOR, "#login button[type=submit]").click()
    ready(browser, "health")
    return browser


def ready(browser, page: str) -> None:
    WebDriverWait(browser, 15).until(lambda b: b.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == page)


def visit(browser, page: str) -> None:
    browser.execute_script("document.body.removeAttribute('data-ready'); location.hash = arguments[0]", page)
    ready(browser, page)


def test_key_is_kept_for_the_tab_only_and_never_in_a_url_or_log(signed_in, seeded, service):
    assert signed_in.execute_script("return sessionStorage.getItem('validator.dashboard.key')") == seeded["reader"]
    assert signed_in.execute_script("return localStorage.length") == 0
    assert seeded["reader"] not in signed_in.current_url
    assert signed_in.execute_script("return document.cookie") == ""
    assert seeded["reader"].split("_", 2)[2] not in service.log.read_text()  # the access log shows no secret


def test_account_health_shows_the_total_rate_against_the_lines(signed_in):
    card = signed_in.find_element(By.ID, "health-card")
    # 1,500 sent, 18 hard bounces: 1.2% total, under the 2% line
    assert signed_in.find_element(By.ID, "total-rate").text == "1.20%"
    assert card.find_element(By.CSS_SELECTOR, ".level").text == "healthy"  # the word beside the colour
    assert "Over 2% is unhealthy, over 5% is risky" in card.text


def test_campaigns_show_rates_with_level_words_and_a_chart(signed_in):
    visit(signed_in, "campaigns")
    spring = signed_in.find_element(By.CSS_SELECTOR, "tr[data-campaign=spring]")
    # 1,100 sent, 17 addresses hard-bounced: 1.55%, above the 1% critical line, said in words too
    assert "1.55%" in spring.text and "critical" in spring.text
    welcome = signed_in.find_element(By.CSS_SELECTOR, "tr[data-campaign=welcome]")
    assert "0.25%" in welcome.text and "acceptable" in welcome.text
    spring.find_element(By.LINK_TEXT, "spring").click()
    ready(signed_in, "campaign=spring")
    assert len(signed_in.find_elements(By.CSS_SELECTOR, "svg.chart polyline")) == 3  # hard, chronic soft, complaints
    days = signed_in.find_elements(By.CSS_SELECTOR, "#chart-table tr")
    assert len(days) == 4  # a header and 2026-11-01..03
    reasons = signed_in.find_element(By.ID, "reasons-table").text
    assert "Recipient address rejected: User unknown" in reasons and "550 5.1.1" in reasons
    assert "angry@example.org" in reasons and "complaint" in reasons


def test_suppressions_search_filter_export_and_remove_with_audit(signed_in):
    visit(signed_in, "suppressions")
    table = signed_in.find_element(By.ID, "suppressions-table")
    assert "jane.old@example.org" in table.text and "spamtrap.example" in table.text
    signed_in.find_element(By.ID, "reason-filter").send_keys("complaint")
    signed_in.find_element(By.CSS_SELECTOR, "#suppression-filters button[type=submit]").click()
    WebDriverWait(signed_in, 10).until(lambda b: "jane.old" not in b.find_element(By.ID, "suppressions-table").text)
    assert "spamtrap.example" in signed_in.find_element(By.ID, "suppressions-table").text
    exported = signed_in.execute_async_script("""
        var done = arguments[arguments.length - 1];
        var seen = [];
        var original = URL.createObjectURL;
        URL.createObjectURL = function (blob) { blob.text().then(done); return original(blob); };
        document.getElementById('export').click();""")
    assert exported.splitlines()[0].startswith("kind,value,reason") and "spamtrap.example" in exported
    assert "jane.old" not in exported  # the export follows the filter
    signed_in.find_element(By.ID, "reason-filter").send_keys("any")
    search = signed_in.find_element(By.ID, "search")
    search.send_keys("jane.old@example.org")
    signed_in.find_element(By.CSS_SELECTOR, "#suppression-filters button[type=submit]").click()
    WebDriverWait(signed_in, 10).until(lambda b: b.find_elements(By.CSS_SELECTOR, "#suppressions-table .linklike"))
    signed_in.find_element(By.CSS_SELECTOR, "#suppressions-table .linklike").click()
    WebDriverWait(signed_in, 10).until(lambda b: b.find_elements(By.ID, "audit-table"))
    assert "support ticket" in signed_in.find_element(By.ID, "audit-table").text
    signed_in.find_element(By.ID, "remove-why").send_keys("confirmed by the customer")
    signed_in.find_element(By.ID, "remove").click()
    WebDriverWait(signed_in, 10).until(lambda b: "removed" in b.find_element(By.ID, "suppression-detail").text)
    audit = signed_in.find_element(By.ID, "audit-table").text
    assert "key:deliverability" in audit and "confirmed by the customer" in audit and "support ticket" in audit


def test_jobs_show_progress_and_download_results(signed_in):
    visit(signed_in, "jobs")
    row = signed_in.find_element(By.CSS_SELECTOR, "#jobs-table tr[data-job]")
    assert "completed" in row.text and "30 / 30 (100%)" in row.text
    downloaded = signed_in.execute_async_script("""
        var done = arguments[arguments.length - 1];
        var original = URL.createObjectURL;
        URL.createObjectURL = function (blob) { blob.text().then(done); return original(blob); };
        document.querySelector('#jobs-table .download').click();""")
    lines = downloaded.splitlines()
    assert len(lines) == 31 and "person0@example.org" in downloaded  # a header and 30 verdicts
