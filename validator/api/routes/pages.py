"""The files the service serves to browsers: the signup widget and the dashboard's static app.

Both are package data read once at start-up, each answered from memory (gzip-compressed
once too, when the browser accepts it). They need no key: the widget carries a publishable key
in the page that uses it, and the dashboard asks for its key in the page and keeps it in the
tab's ``sessionStorage``, so no key is ever in a URL or an access log.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
from dataclasses import dataclass
from importlib import resources

from aiohttp import web

from validator.errors import NotFound

routes = web.RouteTableDef()
WIDGET = "widget/v1.js"
DASHBOARD_FILES = {"": "index.html", "dashboard.js": "dashboard.js", "dashboard.css": "dashboard.css"}
_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
}
# v1 changes only compatibly; a page pinning the Subresource Integrity hash (docs/widget.md)
# keeps the copy it has. RFC 8246: "immutable" spares revalidation on reload.
IMMUTABLE = "public, max-age=31536000, immutable"
# The dashboard runs only its own files: no inline script, nothing from elsewhere, not framed.
DASHBOARD_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


@dataclass(frozen=True, slots=True)
class StaticFile:
    body: bytes
    gzipped: bytes
    content_type: str
    etag: str

    def respond(self, request: web.Request, headers: dict[str, str]) -> web.Response:
        if request.headers.get("If-None-Match") == self.etag:
            return web.Response(status=304, headers={**headers, "ETag": self.etag})
        use_gzip = "gzip" in request.headers.get("Accept-Encoding", "")
        extra = {"Content-Encoding": "gzip"} if use_gzip else {}
        return web.Response(
            body=self.gzipped if use_gzip else self.body,
            headers={
                **headers,
                **extra,
                "Content-Type": self.content_type,
                "ETag": self.etag,
                "Vary": "Accept-Encoding",
                "X-Content-Type-Options": "nosniff",
            },
        )


def load(name: str) -> StaticFile:
    body = resources.files("validator").joinpath("static", name).read_bytes()
    suffix = name[name.rindex(".") :]
    return StaticFile(
        body, gzip.compress(body, 9, mtime=0), _TYPES[suffix], f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    )


def integrity(body: bytes) -> str:
    """The ``integrity`` attribute value of a script (W3C Subresource Integrity §3.5)."""
    return "sha384-" + base64.b64encode(hashlib.sha384(body).digest()).decode()


_WIDGET = load(WIDGET)
_DASHBOARD = {path: load(f"dashboard/{name}") for path, name in DASHBOARD_FILES.items()}


@routes.get("/widget/v1.js")
async def widget(request: web.Request) -> web.Response:
    # Any page may load it; CORS lets a page check its integrity hash (SRI needs a CORS answer).
    return _WIDGET.respond(
        request,
        {
            "Cache-Control": IMMUTABLE,
            "Access-Control-Allow-Origin": "*",
            "Cross-Origin-Resource-Policy": "cross-origin",
        },
    )


@routes.get("/dashboard")
async def dashboard(request: web.Request) -> web.Response:
    return _dashboard_file(request, "")


@routes.get("/dashboard/{file}")
async def dashboard_file(request: web.Request) -> web.Response:
    return _dashboard_file(request, request.match_info["file"])


def _dashboard_file(request: web.Request, path: str) -> web.Response:
    found = _DASHBOARD.get(path)
    if found is None:
        raise NotFound(f"no dashboard file {path!r}")
    return found.respond(
        request,
        {
            "Cache-Control": "no-cache",
            "Content-Security-Policy": DASHBOARD_POLICY,
            "Referrer-Policy": "no-referrer",
            "X-Frame-Options": "DENY",
        },
    )
