"""Error rendering, request metrics and the masked access log.

One middleware does both error mapping and timing, because every aiohttp middleware adds a
coroutine frame to the hot path. Every error, ours or aiohttp's (404, 405, 413), leaves as
``{"error": {"code", "message", "field"}}``; anything unexpected is logged and answered 500
in the same shape.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable

import orjson
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from .. import errors
from ..metrics import Metrics
from ..model import ApiKey
from .auth import bearer_token, check_scope, is_public
from .keys import API_KEY_ADMIN, API_KEY_ID, API_KEY_NAME, PUBLISHABLE_KEY
from .publishable import PublishableGate, cors_headers
from .wire import error_json, refuse_query_controls

log = logging.getLogger("validator.api")

HTTP_STATUS: dict[type[errors.ValidatorError], int] = {
    errors.BadRequest: 400,
    errors.UnsupportedMediaType: 415,
    errors.NotFound: 404,
    errors.MethodNotAllowed: 405,
    errors.BodyTooLarge: 413,
    errors.Unauthorized: 401,
    errors.InvalidSignature: 401,
    errors.WebhookNotConfigured: 404,
    errors.Forbidden: 403,
    errors.RateLimited: 429,
    errors.Conflict: 409,
    errors.UnparseableMessage: 422,
    errors.StoreUnavailable: 503,
}
RETRY_AFTER_SECONDS = 5  # a store that is down or locked: ask clients to come back shortly
_AIOHTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large", 415: "unsupported_media_type"}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Authenticator = Callable[[str], Awaitable[ApiKey | None]]


def status_for(exc: errors.ValidatorError) -> int:
    for cls in type(exc).__mro__:
        if cls in HTTP_STATUS:
            return HTTP_STATUS[cls]
    return 500


def json_response(data: object, status: int = 200) -> web.Response:
    """orjson rather than aiohttp's json_response: several times faster on verdict-sized bodies."""
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


def error_response(status: int, code: str, message: str, field: str | None = None) -> web.Response:
    return web.Response(status=status, body=error_json(code, message, field), content_type="application/json")


def make_middleware(
    metrics: Metrics, authenticate: Authenticator | None, gate: PublishableGate
) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    """``authenticate`` verifies a bearer token (None: authentication is off); ``gate`` admits
    publishable keys by origin and rate."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        cors_origin = None
        try:
            if authenticate is not None and resource is not None and not is_public(request.method, route):
                key = await authenticate(bearer_token(request))
                check_scope(key, request.method, route)
                request[API_KEY_NAME] = key.name  # type: ignore[union-attr]
                request[API_KEY_ID] = key.id  # type: ignore[union-attr]
                request[API_KEY_ADMIN] = "admin" in key.scopes  # type: ignore[union-attr]
                if key.publishable:  # type: ignore[union-attr]
                    origin = request.headers.get("Origin")
                    gate.admit(key, origin, request.remote or "")  # type: ignore[arg-type]
                    cors_origin, request[PUBLISHABLE_KEY] = origin, True
            if request.query_string:
                refuse_query_controls(request.query)
            response = await handler(request)
        except errors.ValidatorError as exc:
            response = error_response(status_for(exc), exc.code, exc.message, exc.field)
            if isinstance(exc, errors.StoreUnavailable):
                response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
            elif isinstance(exc, errors.RateLimited):
                response.headers["Retry-After"] = str(exc.retry_after)
                cors_origin = request.headers.get("Origin")  # admitted by origin: the page may read the 429
            elif isinstance(exc, errors.Unauthorized):
                response.headers["WWW-Authenticate"] = 'Bearer realm="validator"'
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            code = _AIOHTTP_CODES.get(exc.status, "bad_request" if exc.status < 500 else "internal_error")
            response = error_response(exc.status, code, exc.reason)
            if "Allow" in exc.headers:  # RFC 9110 §15.5.6: a 405 lists the methods that work
                response.headers["Allow"] = exc.headers["Allow"]
        except Exception:
            log.exception("unhandled error on %s %s", request.method, mask_addresses(request.path))
            response = error_response(500, "internal_error", "internal error; the details are in the service log")
        if cors_origin is not None:
            response.headers.update(cors_headers(cors_origin))
        metrics.observe_request(request.method, route, response.status, time.perf_counter() - started)
        return response

    return middleware


_ADDRESS_IN_PATH = re.compile(r"([^/?&=@%]+)(@|%40)", re.IGNORECASE)


def mask_addresses(text: str) -> str:
    """``/v1/suppressions/jane.doe@example.com`` → ``/v1/suppressions/j***@example.com``."""
    return _ADDRESS_IN_PATH.sub(lambda m: m.group(1)[:1] + "***" + m.group(2), text)


class MaskedAccessLogger(AbstractAccessLogger):
    """Access log lines without full addresses: local parts in the path are masked."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            '%s "%s %s" %d %.3fms',
            request.remote,
            request.method,
            mask_addresses(request.path_qs),
            response.status,
            time * 1000,
        )

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)
