"""Requests aiohttp's HTTP parser refuses before any handler runs, answered in the service's one error shape.

A header line over 8,190 bytes, a request line that is no HTTP, a ``Content-Encoding`` it cannot
decode (``br``, ``zstd``), a broken ``Content-Length``: aiohttp answers these itself, before
routing, with ``text/plain`` that quotes the offending bytes and its own advice ("Please install
`Brotli`"). Clients then meet the one error they cannot read by its code. ``RequestHandler``
builds that answer in ``handle_error``, and aiohttp offers no hook for it, so ``install`` wraps
that method once per process: aiohttp still logs (``middleware.ClientErrorLog`` masks and counts
it), still checks that nothing was sent yet, and still closes the connection; only the answer
becomes ``{"error": {"code": "malformed_request", "message": ...}}`` with a message that names
the problem without echoing the request. A 5xx is left as aiohttp renders it: our middleware
answers every error a handler raises, so one reaching here is aiohttp's own.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web, web_protocol
from aiohttp.http_exceptions import (
    BadHttpMethod,
    BadStatusLine,
    ContentEncodingError,
    ContentLengthError,
    HttpProcessingError,
    InvalidHeader,
    InvalidURLError,
    LineTooLong,
    TransferEncodingError,
)
from multidict import CIMultiDict, CIMultiDictProxy

from validator.wire.validation import error_json

_JSON_HEADERS = CIMultiDictProxy(CIMultiDict({"Content-Type": "application/json"}))
# First match wins (subclasses before their parents): what the client did, in its words, never echoed.
_MESSAGES: tuple[tuple[type[HttpProcessingError], str], ...] = (
    (LineTooLong, "a request line or header field is longer than this server reads (8,190 bytes)"),
    (
        ContentEncodingError,
        "the body's Content-Encoding is not one this server decodes: send it as is, gzip or deflate",
    ),
    (TransferEncodingError, "the body's Transfer-Encoding is malformed or not one this server reads (chunked)"),
    (ContentLengthError, "the body is shorter or longer than its Content-Length, or that header is malformed"),
    (BadHttpMethod, "the request does not start with an HTTP method (TLS sent to a plain-HTTP port?)"),
    (BadStatusLine, "the request line is not HTTP/1.x"),
    (InvalidURLError, "the request target is not a valid URL path"),
    (InvalidHeader, "a header field is malformed"),
)


def message_for(exc: BaseException | None) -> str:
    """What a parser refusal tells the client; aiohttp's own text would quote the request."""
    for kind, message in _MESSAGES:
        if isinstance(exc, kind):
            return message
    return "the request is not well-formed HTTP"


def install() -> None:
    """Render aiohttp's parser refusals in our error shape in this process (idempotent)."""
    handler_class: Any = web_protocol.RequestHandler
    if getattr(handler_class.handle_error, "renders_json", False):
        return
    aiohttp_handle_error = handler_class.handle_error

    def handle_error(
        self: web_protocol.RequestHandler,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        rendered = aiohttp_handle_error(self, request, status, exc, message)  # logs; refuses if already sent
        if status >= 500:
            return rendered
        response = web.Response(
            status=status, body=error_json("malformed_request", message_for(exc), None), headers=_JSON_HEADERS
        )
        response.force_close()  # as aiohttp does: where the next request starts is unknown
        return response

    handle_error.renders_json = True  # type: ignore[attr-defined]
    handler_class.handle_error = handle_error
