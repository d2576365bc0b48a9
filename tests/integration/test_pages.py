"""The files served to browsers: the widget's size, cache and integrity, the dashboard's policy."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest

from tests.support.settings import make_settings
from validator.api import create_app
from validator.api.routes.pages import integrity

ROOT = Path(__file__).parents[2]
WIDGET = ROOT / "validator" / "static" / "widget" / "v1.js"
GZIPPED_BUDGET = 10 * 1024


@pytest.fixture
async def client(aiohttp_client, tmp_path):
    settings = make_settings(database_url=f"sqlite:///{tmp_path}/v.sqlite3", auth=True)
    return await aiohttp_client(create_app(settings))


async def test_widget_is_small_immutable_and_loadable_by_any_page(client):
    response = await client.get("/widget/v1.js", headers={"Accept-Encoding": "gzip"}, auto_decompress=False)
    assert response.status == 200
    body = await response.read()
    assert response.headers["Content-Encoding"] == "gzip"
    assert len(body) < GZIPPED_BUDGET, f"{len(body)} bytes gzipped"
    assert gzip.decompress(body) == WIDGET.read_bytes()
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.headers["Access-Control-Allow-Origin"] == "*"  # SRI on a cross-origin script needs CORS
    assert response.headers["Content-Type"].startswith("text/javascript")
    again = await client.get("/widget/v1.js", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status == 304


def test_documented_integrity_hashes_are_the_served_file():
    """The hash in the docs and the sample page must let browsers run the script they get."""
    expected = integrity(WIDGET.read_bytes())
    for document in (ROOT / "docs" / "widget.md", ROOT / "examples" / "signup.html"):
        found = set(re.findall(r"sha384-[A-Za-z0-9+/=]{64}", document.read_text()))
        assert found == {expected}, f"{document.name}: update the hash to {expected}"


async def test_dashboard_is_served_with_a_strict_policy_and_no_key(client):
    response = await client.get("/dashboard")
    assert response.status == 200
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "unsafe" not in policy
    assert response.headers["Referrer-Policy"] == "no-referrer"
    html = await response.text()
    assert "<script>" not in html and "http" not in html.replace("http-equiv", "")  # nothing inline, no CDN
    assert (await client.get("/dashboard/dashboard.js")).status == 200
    missing = await client.get("/dashboard/../../pyproject.toml")
    assert missing.status == 404
