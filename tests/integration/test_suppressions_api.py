"""The suppression list through the real HTTP API, on a real SQLite file and on the real
PostgreSQL server, and validation using it."""

from __future__ import annotations

import pytest

from tests.support.settings import make_settings
from validator.api import create_app


@pytest.fixture
async def client(aiohttp_client, dns, store_url):
    dns.zone.mx("example.com", 10, "mx.example.com")
    dns.zone.a("mx.example.com", "8.8.8.8")
    settings = make_settings(dns, database_url=store_url)
    return await aiohttp_client(create_app(settings))


async def test_put_get_delete_with_audit_trail(client):
    response = await client.put(
        "/v1/suppressions/Jane.Doe@Example.com",
        json={"reason": "hard_bounce", "detail": "550 5.1.1 user unknown", "why": "bounce seen"},
    )
    assert response.status == 201
    entry = await response.json()
    assert (entry["kind"], entry["value"], entry["reason"], entry["source"]) == (
        "address",
        "jane.doe@example.com",
        "hard_bounce",
        "api",
    )
    again = await client.put("/v1/suppressions/jane.doe@example.com", json={"reason": "complaint"})
    assert again.status == 200  # an update, matched case-insensitively
    body = await (await client.get("/v1/suppressions/JANE.DOE@example.com")).json()
    assert body["reason"] == "complaint"
    assert [row["action"] for row in body["audit"]] == ["created", "updated"]
    assert body["audit"][0]["why"] == "bounce seen"
    deleted = await client.delete("/v1/suppressions/jane.doe@example.com?why=resubscribed")
    assert deleted.status == 200
    missing = await client.get("/v1/suppressions/jane.doe@example.com")
    assert (missing.status, (await missing.json())["error"]["code"]) == (404, "not_found")


async def test_invalid_address_in_put_is_refused_with_its_field(client):
    response = await client.put("/v1/suppressions/not@an@address", json={"reason": "manual"})
    assert response.status == 400
    assert (await response.json())["error"]["field"] == "email"
    response = await client.put("/v1/suppressions/a@example.com", json={"reason": "bounced"})
    assert (await response.json())["error"]["field"] == "reason"
    response = await client.put("/v1/suppressions/a@example.com", json={"reason": "manual", "expires_at": "2027-01-01"})
    assert (await response.json())["error"]["field"] == "expires_at"  # a time without a zone is ambiguous


async def test_suppressed_address_and_domain_block_validation(client):
    await client.put("/v1/suppressions/gone@example.com", json={"reason": "hard_bounce", "detail": "550 5.1.1"})
    body = await (await client.post("/v1/validate", json={"email": "Gone@example.com"})).json()
    assert (body["status"], body["action"], body["reasons"]) == ("undeliverable", "block", ["suppressed"])
    assert body["checks"]["suppression"]["detail"] == "550 5.1.1"
    await client.put("/v1/suppressions/domains/Blocked.example", json={"reason": "manual"})
    batch = await (
        await client.post("/v1/validate/batch", json={"emails": ["a@blocked.example", "ok@example.com"]})
    ).json()
    assert [r["status"] for r in batch["results"]] == ["undeliverable", "deliverable"]
    assert batch["results"][0]["checks"]["suppression"]["kind"] == "domain"


async def test_a_lifted_suppression_is_seen_at_once(client):
    await client.put("/v1/suppressions/back@example.com", json={"reason": "unsubscribe"})
    assert (await (await client.post("/v1/validate", json={"email": "back@example.com"})).json())[
        "status"
    ] == "undeliverable"
    await client.delete("/v1/suppressions/back@example.com")
    assert (await (await client.post("/v1/validate", json={"email": "back@example.com"})).json())[
        "status"
    ] == "deliverable"


async def test_lookup_answers_in_input_order(client):
    await client.put("/v1/suppressions/a@example.com", json={"reason": "complaint"})
    await client.put("/v1/suppressions/domains/dead.example", json={"reason": "hard_bounce"})
    response = await client.post(
        "/v1/suppressions/lookup", json={"emails": ["b@example.com", "A@EXAMPLE.COM", "x@dead.example", "nope"]}
    )
    results = (await response.json())["results"]
    assert [(r["suppressed"], r["reason"]) for r in results] == [
        (False, None),
        (True, "complaint"),
        (True, "hard_bounce"),
        (False, None),
    ]
    assert results[3]["valid"] is False


async def test_list_pages_with_a_cursor_and_filters(client):
    for i in range(25):
        await client.put(f"/v1/suppressions/u{i}@example.com", json={"reason": "manual" if i % 2 else "complaint"})
    seen, cursor = [], None
    while True:
        query = {"limit": "10"} | ({"cursor": cursor} if cursor else {})
        page = await (await client.get("/v1/suppressions", params=query)).json()
        seen += [item["value"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(f"u{i}@example.com" for i in range(25))
    complaints = await (await client.get("/v1/suppressions", params={"reason": "complaint", "limit": "100"})).json()
    assert len(complaints["items"]) == 13
    bad = await client.get("/v1/suppressions", params={"limit": "0"})
    assert (await bad.json())["error"]["field"] == "limit"


async def test_import_streams_counts_and_reports_bad_lines(client):
    csv_body = (
        (
            b"email,reason,detail\r\n"
            b"one@example.com,hard_bounce,550 5.1.1\r\n"
            b"not-an-address,hard_bounce,\r\n"
            b'two@example.com,complaint,"multi\nline detail"\r\n'
            b"three@example.com,nonsense,\r\n"
        )
        + b"\xff\xfe@example.com,manual,\r\n"
        + b"four@example.com,,\r\n"
    )
    response = await client.post(
        "/v1/suppressions/import?reason=manual", data=csv_body, headers={"Content-Type": "text/csv"}
    )
    assert response.status == 200
    body = await response.json()
    assert (body["added"], body["updated"], body["unchanged"], body["invalid"]) == (3, 0, 0, 3)
    assert [row["line"] for row in body["invalid_rows"]] == [3, 6, 7]
    again = await (
        await client.post("/v1/suppressions/import", data=csv_body, headers={"Content-Type": "text/csv"})
    ).json()
    assert (again["added"], again["updated"], again["unchanged"]) == (0, 0, 3)  # idempotent
    entry = await (await client.get("/v1/suppressions/two@example.com")).json()
    assert entry["detail"] == "multi\nline detail"


async def test_import_finds_the_header_after_a_byte_order_mark_or_blank_lines(client):
    # Excel's "CSV UTF-8" opens with a byte order mark: the header was taken for an address (one invalid
    # row) and every row after it lost its reason and source to the defaults, without a word
    heads = {"bom": b"\xef\xbb\xbf", "blank-lines": b"\r\n,\r\n", "bom-and-blank-line": b"\xef\xbb\xbf\r\n"}
    for name, head in heads.items():
        body = head + f"email,reason,source\r\n{name}@example.com,complaint,old-esp\r\n".encode()
        response = await client.post("/v1/suppressions/import", data=body, headers={"Content-Type": "text/csv"})
        answer = await response.json()
        assert (answer["added"], answer["invalid"], answer["invalid_rows"]) == (1, 0, []), name
        entry = await (await client.get(f"/v1/suppressions/{name}@example.com")).json()
        assert (entry["reason"], entry["source"]) == ("complaint", "old-esp"), name
    only_mark = await client.post("/v1/suppressions/import", data=b"\xef\xbb\xbf", headers={"Content-Type": "text/csv"})
    assert (await only_mark.json())["invalid"] == 0  # an empty file saved by a spreadsheet


async def test_import_reads_a_semicolon_separated_csv(client):
    body = b'email;reason;detail\r\nsemi@example.com;complaint;"550 5.7.1; spam"\r\n'
    response = await client.post("/v1/suppressions/import", data=body, headers={"Content-Type": "text/csv"})
    assert ((await response.json())["added"], (await response.json())["invalid"]) == (1, 0)
    entry = await (await client.get("/v1/suppressions/semi@example.com")).json()
    assert (entry["reason"], entry["detail"]) == ("complaint", "550 5.7.1; spam")


async def test_export_csv_streams_every_entry(client):
    for i in range(3):
        await client.put(f"/v1/suppressions/e{i}@example.com", json={"reason": "manual"})
    response = await client.get("/v1/suppressions", params={"format": "csv"})
    assert response.headers["Content-Type"].startswith("text/csv")
    lines = (await response.text()).strip().splitlines()
    assert lines[0] == "kind,value,reason,source,detail,created_at,updated_at,expires_at"
    assert sorted(line.split(",")[1] for line in lines[1:]) == ["e0@example.com", "e1@example.com", "e2@example.com"]
