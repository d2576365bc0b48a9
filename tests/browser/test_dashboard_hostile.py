"""Stored markup in the dashboard, in headless Chromium against the real service: a campaign id, a
bounce reply and a suppression's texts that are HTML are shown as text on every page that shows
them, and none of them runs (every API text goes in through textContent; the page's policy
allows only its own scripts)."""

from __future__ import annotations

import json

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

# Each sets window.__xss if it ever runs: as an element's handler, as a script, as an SVG's onload.
CAMPAIGN = "<img src=x onerror=window.__xss='campaign'>"
REPLY = "5.1.1 <script>window.__xss='reply'</script><img src=x onerror=window.__xss='reply'> User unknown"
DETAIL = "<svg onload=window.__xss='detail'></svg>"
SOURCE = "<img src=x onerror=window.__xss='source'>"
WHY = "<iframe srcdoc=\"<script>parent.__xss='why'</script>\"></iframe>"


@pytest.fixture(scope="module")
def hostile(service) -> dict[str, str]:
    admin = service.cli("keys", "create", "--name", "ops", "--scope", "admin")
    events = [
        {"event": "sent", "email": f"s{i}@example.org", "timestamp": "2026-11-01T10:00:00Z", "campaign_id": CAMPAIGN}
        for i in range(20)
    ] + [
        {
            "event": "bounce",
            "email": "gone@example.org",
            "timestamp": "2026-11-01T10:00:00Z",
            "campaign_id": CAMPAIGN,
            "smtp_code": 550,
            "smtp_enhanced_code": "5.1.1",
            "smtp_message": REPLY,
        }
    ]
    service.call("POST", "/v1/events", admin, "\n".join(map(json.dumps, events)).encode(), "application/x-ndjson")
    body = json.dumps({"reason": "manual", "detail": DETAIL, "source": SOURCE, "why": WHY}).encode()
    service.call("PUT", "/v1/suppressions/marked.up@example.org", admin, body)
    return {"admin": admin, "url": service.url}


def ready(browser, page: str) -> None:
    WebDriverWait(browser, 15).until(lambda b: b.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == page)


def visit(browser, page: str) -> None:
    browser.execute_script("document.body.removeAttribute('data-ready'); location.hash = arguments[0]", page)
    ready(browser, page)


def ran(browser) -> object:
    """What a payload that ran set, if any; and any element a payload would have made."""
    made = browser.find_elements(By.CSS_SELECTOR, "#view img[src=x], #view script, #view svg[onload], #view iframe")
    return browser.execute_script("return window.__xss") or [e.tag_name for e in made] or None


def test_stored_markup_is_text_on_every_page_and_never_runs(browser, hostile):
    browser.get(hostile["url"] + "/dashboard")
    browser.execute_script("sessionStorage.clear()")
    browser.get(hostile["url"] + "/dashboard")
    browser.find_element(By.ID, "key").send_keys(hostile["admin"])
    browser.find_element(By.CSS_SELECTOR, "#login button[type=submit]").click()
    ready(browser, "health")

    visit(browser, "campaigns")
    assert CAMPAIGN in browser.find_element(By.ID, "view").text
    browser.find_element(By.LINK_TEXT, CAMPAIGN).click()
    WebDriverWait(browser, 15).until(lambda b: b.find_element(By.TAG_NAME, "body").get_attribute("data-ready"))
    assert "window.__xss='reply'" in browser.find_element(By.ID, "reasons-table").text  # the reply, as text
    assert ran(browser) is None

    visit(browser, "suppressions")
    assert "marked.up@example.org" in browser.find_element(By.ID, "suppressions-table").text
    browser.find_element(By.ID, "search").send_keys("marked.up@example.org")
    browser.find_element(By.CSS_SELECTOR, "#suppression-filters button[type=submit]").click()
    WebDriverWait(browser, 10).until(lambda b: "gone@" not in b.find_element(By.ID, "suppressions-table").text)
    browser.find_element(By.CSS_SELECTOR, "#suppressions-table .linklike").click()
    WebDriverWait(browser, 10).until(lambda b: b.find_elements(By.ID, "audit-table"))
    shown = browser.find_element(By.ID, "view").text
    assert DETAIL in shown and SOURCE in shown and "parent.__xss='why'" in shown
    assert ran(browser) is None
