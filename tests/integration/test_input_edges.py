"""Malformed uploads, imports, times and integers through the real HTTP API on real SQLite and
PostgreSQL stores: a 4xx naming the problem, or an answer that accounts for every row."""

from __future__ import annotations

import pytest

from tests.support.settings import make_settings
from validator.api import create_app
from validator.wire.csv_records import MAX_RECORD_BYTES

CSV = {"Content-Type": "text/csv"}
# an offset that moves a time before year 1 in UTC (datetime.astimezone raised OverflowError: a 500)
BEFORE_YEAR_ONE = "0001-01-01T00:00:00+14:00"


@pytest.fixture
async def client(aiohttp_client, dns, store_url):
    settings = make_settings(dns, job_workers=0, database_url=store_url)
    return await aiohttp_client(create_app(settings))


async def _error(response) -> tuple[int, str, str | None]:
    error = (await response.json())["error"]
    return response.status, error["code"], error["field"]


async def _suppressed(client) -> list[str]:
    """Every address the store holds, read back through the export (not the import's own counts)."""
    export = await client.get("/v1/suppressions", params={"format": "csv"})
    return [line.split(",")[1] for line in (await export.text()).splitlines()[1:]]


async def test_a_job_with_a_quote_that_never_closes_is_refused_naming_its_line_and_leaves_nothing(client):
    # 4 rows used to be answered "202 total: 2"; past 131,072 bytes after the quote, a 500
    for tail in (b"c@example.com\nd@example.com\n", b"".join(b"u%d@example.com\n" % i for i in range(20_000))):
        response = await client.post("/v1/jobs", data=b'email\na@example.com\n"b@example.com\n' + tail, headers=CSV)
        assert await _error(response) == (400, "invalid_csv", None)
        assert "opens on line 3 and never closes" in (await response.json())["error"]["message"]
    assert (await (await client.get("/v1/jobs")).json())["items"] == []


async def test_a_job_answers_a_quote_inside_a_cell_and_every_row_after_it(client):
    response = await client.post("/v1/jobs", data=b'email\na@example.com\nb"@example.com\nc@example.com\n', headers=CSV)
    assert response.status == 202
    assert (await response.json())["total"] == 3


@pytest.mark.parametrize(
    ("bad", "after", "error"),
    [
        (f"bad@example.com,manual,{BEFORE_YEAR_ONE}", 1, "expires_at: must fall between years 1 and 9999 in UTC"),
        (
            'bad@example.com,manual,"' + "x" * 200_000 + '"',
            1,  # past the csv module's 131,072: was a 500
            f"longer than {MAX_RECORD_BYTES:,} bytes (line 2502), so not read",
        ),
        (
            '"bad@example.com,manual,',
            10_000,  # the lines after it, 150 KB, cannot be told apart: was a 500
            "a quoted field opens on line 2502 and never closes, so lines 2502-12502 cannot be read",
        ),
    ],
    ids=["time-overflow", "giant-cell", "unclosed-quote"],
)
async def test_an_import_reports_a_bad_row_by_line_and_writes_exactly_the_good_ones(client, bad, after, error):
    # more than one write batch (1,000 rows) before the bad row: they used to be committed before a 500
    good = [f"user{i}@example.com,manual," for i in range(2500)]
    more = [f"after{i}@example.com,manual," for i in range(after)]
    body = "\n".join(["email,reason,expires_at", *good, bad, *more]) + "\n"
    response = await client.post("/v1/suppressions/import", data=body.encode(), headers=CSV)
    assert response.status == 200, await response.text()
    result = await response.json()
    assert [(row["line"], row["error"][: len(error)]) for row in result["invalid_rows"]] == [(2502, error)]
    written = good + (more if bad[0] != '"' else [])
    assert (result["added"], result["invalid"]) == (len(written), 1)
    assert sorted(await _suppressed(client)) == sorted(row.split(",")[0] for row in written)


@pytest.mark.parametrize("moment", [BEFORE_YEAR_ONE, "9999-12-31T23:59:59-14:00"], ids=["year-0", "year-10000"])
async def test_a_time_out_of_range_is_a_400_on_every_endpoint_that_reads_times(client, moment):
    put = await client.put("/v1/suppressions/a@example.com", json={"reason": "manual", "expires_at": moment})
    assert await _error(put) == (400, "invalid_field", "expires_at")
    listed = await client.get("/v1/suppressions", params={"since": moment})
    assert await _error(listed) == (400, "invalid_field", "since")
    for name in ("since", "until"):
        report = await client.get("/v1/reports/bounce-rates", params={name: moment})
        assert await _error(report) == (400, "invalid_field", name)
    event = await client.post("/v1/events", json={"event": "delivered", "email": "a@example.com", "timestamp": moment})
    assert (await _error(event))[:2] == (400, "invalid_field")


async def test_the_extreme_times_that_are_in_range_are_kept(client):
    for moment, kept in [
        ("9999-12-31T23:59:59Z", "9999-12-31T23:59:59Z"),
        ("0001-01-01T00:00:00-14:00", "0001-01-01T14:00:00Z"),
    ]:
        put = await client.put("/v1/suppressions/a@example.com", json={"reason": "manual", "expires_at": moment})
        assert put.status in (200, 201), await put.text()
        assert (await put.json())["expires_at"] == kept


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/v1/jobs?column_index=" + "9" * 4301, "column_index"),  # int() refuses past 4,300 digits: was a 500
        ("/v1/jobs?column_index=%C2%B2", "column_index"),  # "²" passes str.isdigit() and fails int(): was a 500
        ("/v1/suppressions?limit=" + "9" * 4301, "limit"),
    ],
    ids=["huge-column-index", "superscript-digit", "huge-limit"],
)
async def test_integers_past_any_range_in_queries_are_a_400(client, path, field):
    method = client.post if path.startswith("/v1/jobs") else client.get
    response = await method(path, data=b"a@example.com\n", headers=CSV)
    assert await _error(response) == (400, "invalid_field", field)


async def test_a_cursor_holding_an_integer_past_64_bits_is_a_400(client):
    import base64

    # a row id past SQLite's INTEGER and PostgreSQL's bigint reached the database: a 500
    cursor = base64.urlsafe_b64encode(b"s1:" + b"9" * 30).decode().rstrip("=")
    response = await client.get("/v1/suppressions", params={"cursor": cursor})
    assert await _error(response) == (400, "invalid_field", "cursor")


# a lone UTF-16 surrogate is no text: yajl decodes "\udfff" (and the bytes ED B0 80..) to surrogate bytes that
# Python's UTF-8 decoder refuses inside ijson, a UnicodeDecodeError that was a 500; orjson refuses them as JSON
@pytest.mark.parametrize(
    "item",
    [b'"\\udfff"', b'"\\udfff@example.com"', b'"\xed\xa0\x80@example.com"', b'"ok@example.com", {"\\udc00": 1}'],
    ids=["escaped-low", "escaped-low-in-address", "encoded-high", "escaped-in-a-key"],
)
async def test_a_job_upload_with_a_lone_surrogate_is_invalid_json_and_leaves_nothing(client, item):
    response = await client.post(
        "/v1/jobs", data=b'{"emails": [' + item + b"]}", headers={"Content-Type": "application/json"}
    )
    assert await _error(response) == (400, "invalid_json", None)
    assert "surrogate" in (await response.json())["error"]["message"]
    assert (await (await client.get("/v1/jobs")).json())["items"] == []


# aiohttp keeps every value of a repeated parameter and the routes read the first: "reason=manual&reason=nonsense"
# filtered by manual without a word (the second alone is a 400), and "reason=a&reason=b" never meant "a or b"
@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/v1/suppressions?reason=manual&reason=nonsense", "reason"),
        ("/v1/suppressions?limit=1&limit=2", "limit"),
        ("/v1/reports/bounce-rates?campaign_id=a&campaign_id=b", "campaign_id"),
        ("/v1/events?campaign_id=a&campaign_id=a", "campaign_id"),
        ("/v1/jobs?limit=5&limit=5", "limit"),
    ],
)
async def test_a_query_parameter_given_twice_is_a_400_naming_it(client, path, field):
    assert await _error(await client.get(path)) == (400, "invalid_field", field)
    assert (await client.get(path.split("&")[0])).status == 200  # once is fine
