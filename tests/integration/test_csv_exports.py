"""CSV exports opened in a spreadsheet run no formulas, and an export re-imports unchanged.

OWASP "CSV Injection": cells starting with = + - @ TAB or CR are formulas to Excel, LibreOffice
and Google Sheets; the exports prefix them with a single quote. Values starting so are legal
here (``-list@example.com`` and ``=x@example.com`` are valid addresses; ``source`` and
``detail`` are free text), so the suppression import removes that one quote again.
"""

from __future__ import annotations

import asyncio
import csv
import io

from tests.support.settings import make_settings
from validator.api import create_app
from validator.config import Settings

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _settings(dns, store_url: str) -> Settings:
    return make_settings(dns, database_url=store_url, job_chunk_rows=4, job_poll_seconds=0.05)


def _cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


async def test_suppression_export_is_neutralised_and_reimports_exactly(aiohttp_client, dns, store_url, tmp_path):
    client = await aiohttp_client(create_app(_settings(dns, store_url)))
    entries = {
        "-list@example.com": {"reason": "manual", "source": '=HYPERLINK("http://evil.example","x")'},
        "+tag@example.com": {"reason": "manual", "detail": "@SUM(1+1)"},
        "=x@example.com": {"reason": "manual", "source": "'=already quoted"},  # a quote of its own survives
        "plain@example.com": {"reason": "manual", "source": "'not a formula", "detail": "\t-tabbed\nreply"},
    }
    for address, body in entries.items():
        assert (await client.put(f"/v1/suppressions/{address}", json=body)).status == 201
    exported = await (await client.get("/v1/suppressions", params={"format": "csv"})).text()
    for row in _cells(exported)[1:]:
        assert not any(cell.startswith(FORMULA_STARTS) for cell in row), row
    values = {row[1] for row in _cells(exported)[1:]}
    assert values == {"'-list@example.com", "'+tag@example.com", "'=x@example.com", "plain@example.com"}

    other = await aiohttp_client(create_app(_settings(dns, f"sqlite:///{tmp_path}/copy.sqlite3")))
    imported = await other.post("/v1/suppressions/import", data=exported.encode(), headers={"Content-Type": "text/csv"})
    assert (await imported.json())["added"] == 4
    for address, body in entries.items():
        entry = await (await other.get(f"/v1/suppressions/{address}")).json()
        assert (entry["value"], entry["source"], entry["detail"]) == (
            address,
            body.get("source", "api"),
            body.get("detail"),
        ), entry


async def test_job_results_csv_is_neutralised(aiohttp_client, dns, store_url):
    dns.zone.mx("example.com", 10, "mx.example.com")
    dns.zone.a("mx.example.com", "8.8.8.8")
    client = await aiohttp_client(create_app(_settings(dns, store_url)))
    upload = '=HYPERLINK("http://evil.example") <a@example.com>\r\n-list@example.com\r\n@SUM(1)\r\n'
    response = await client.post("/v1/jobs", data=upload.encode(), headers={"Content-Type": "text/csv"})
    assert response.status == 202, await response.text()
    location = response.headers["Location"]
    for _ in range(200):
        if (await (await client.get(location)).json())["status"] == "completed":
            break
        await asyncio.sleep(0.05)
    rows = _cells(await (await client.get(f"{location}/results", params={"format": "csv"})).text())
    assert len(rows) == 4
    for row in rows[1:]:
        assert not any(cell.startswith(FORMULA_STARTS) for cell in row), row
    assert rows[1][1].startswith("'=HYPERLINK") and rows[2][2] == "'-list@example.com" and rows[3][2] == "'@SUM(1)"
