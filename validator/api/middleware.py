"""Error rendering and request metrics.

One middleware does both error mapping and timing, because every aiohttp middleware adds a
coroutine frame to the hot path. Every error, ours or aiohttp's (404, 405, 413), leaves as
``{"error": {"code", "message", "field"}}``; anything unexpected is logged and answered 500
in the same shape.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

import orjson
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.typedefs import Middleware
from multidict import CIMultiDict, CIMultiDictProxy

from validator import errors
from validator.api.access_log import mask_addresses, mask_secrets
from validator.api.app_keys import API_KEY_ADMIN, API_KEY_ID, API_KEY_NAME, PUBLISHABLE_KEY
from validator.api.auth import bearer_token, check_scope, is_public
from validator.api.body_watch import BodyGate
from validator.api.publishable import PublishableGate, cors_headers
from validator.metrics import Metrics
from validator.model import ApiKey
from validator.wire.validation import error_json, refuse_query_controls

log = logging.getLogger("validator.api")

HTTP_STATUS: dict[type[errors.ValidatorError], int] = {
    errors.BadRequest: 400,
    errors.UnsupportedMediaType: 415,
    errors.NotFound: 404,
    errors.MethodNotAllowed: 405,
    errors.BodyTooLarge: 413,
    errors.BodyTimeout: 408,
    errors.Busy: 503,
    errors.Unauthorized: 401,
    errors.InvalidSignature: 401,
    errors.WebhookNotConfigured: 404,
    errors.Forbidden: 403,
    errors.RateLimited: 429,
    errors.Conflict: 409,
    errors.UnparseableMessage: 422,
    errors.StoreUnavailable: 503,
}
# nginx's convention for a request whose client closed the connection before the answer: never
# sent (nobody is listening), but the access log shows it, and it is counted apart from 5xx.
CLIENT_CLOSED_REQUEST = 499
RETRY_AFTER_SECONDS = 5  # a store that is down or locked: ask clients to come back shortly
_AIOHTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large", 415: "unsupported_media_type"}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ApiKeys(Protocol):
    """How the middleware verifies a bearer token: ``recall`` answers from the store's short cache
    of verified tokens without awaiting (almost every request), ``verify`` asks the store."""

    def recall(self, token: str) -> ApiKey | None: ...

    async def verify(self, token: str) -> ApiKey | None: ...


def status_for(exc: errors.ValidatorError) -> int:
    for cls in type(exc).__mro__:
        if cls in HTTP_STATUS:
            return HTTP_STATUS[cls]
    return 500


# Built once: given as headers, aiohttp copies them; given as content_type, it builds them anew.
_JSON_HEADERS = CIMultiDictProxy(CIMultiDict({"Content-Type": "application/json"}))


def json_response(data: object, status: int = 200) -> web.Response:
    """orjson rather than aiohttp's json_response: several times faster on verdict-sized bodies."""
    return web.Response(body=orjson.dumps(data), status=status, headers=_JSON_HEADERS)


def error_response(status: int, code: str, message: str, field: str | None = None) -> web.Response:
    return web.Response(status=status, body=error_json(code, message, field), headers=_JSON_HEADERS)


def make_middleware(metrics: Metrics, api_keys: ApiKeys | None, gate: PublishableGate, bodies: BodyGate) -> Middleware:
    """``api_keys`` verifies bearer tokens (None: authentication is off); ``gate`` admits
    publishable keys by origin and rate; ``bodies`` paces and watches request bodies still arriving."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        cors_origin = None
        watch = None
        try:
            if api_keys is not None and resource is not None and not is_public(request.method, route):
                token = bearer_token(request)
                key = api_keys.recall(token) or await api_keys.verify(token)
                check_scope(key, request.method, route)
                request[API_KEY_NAME] = key.name  # type: ignore[union-attr]
                request[API_KEY_ID] = key.id  # type: ignore[union-attr]
                request[API_KEY_ADMIN] = "admin" in key.scopes  # type: ignore[union-attr]
                if key.publishable:  # type: ignore[union-attr]
                    origin = request.headers.get("Origin")
                    gate.admit(key, origin, request.remote or "")  # type: ignore[arg-type]
                    cors_origin = origin
                # always set when authenticated: a missing key would cost its reader a KeyError
                request[PUBLISHABLE_KEY] = key.publishable  # type: ignore[union-attr]
            if request.query_string:
                refuse_query_controls(request.query)
            if bodies.arriving(request):
                watch = await bodies.enter(request)
            response = await handler(request)
        except errors.ValidatorError as exc:
            exc.__traceback__ = None  # a stored body error (BodyTimeout) would keep the reading frames alive
            response = error_response(status_for(exc), exc.code, exc.message, exc.field)
            if isinstance(exc, errors.StoreUnavailable | errors.Busy):
                response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
            elif isinstance(exc, errors.RateLimited):
                response.headers["Retry-After"] = str(exc.retry_after)
                cors_origin = request.headers.get("Origin")  # admitted by origin: the page may read the 429
            elif isinstance(exc, errors.Unauthorized):
                response.headers["WWW-Authenticate"] = 'Bearer realm="validator"'
            elif isinstance(exc, errors.BodyTimeout):
                response.force_close()  # the rest of the body is never read: the connection cannot be reused
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            code = _AIOHTTP_CODES.get(exc.status, "bad_request" if exc.status < 500 else "internal_error")
            response = error_response(exc.status, code, exc.reason)
            if "Allow" in exc.headers:  # RFC 9110 §15.5.6: a 405 lists the methods that work
                response.headers["Allow"] = exc.headers["Allow"]
        except ConnectionError as exc:  # the client went away mid-request: nobody to answer, nothing broken here
            exc.__traceback__ = None  # aiohttp stores it in the body: its frames would keep what was read
            log.info("client went away during %s %s: %s", request.method, route, exc or type(exc).__name__)
            metrics.count_client_error("disconnect")
            return web.Response(status=CLIENT_CLOSED_REQUEST)  # not a request outcome: kept out of the counters
        except web.RequestPayloadError as exc:  # malformed body framing (a broken chunked encoding)
            log.info("malformed request body on %s %s: %s", request.method, route, exc)
            metrics.count_client_error("malformed")
            response = error_response(400, "malformed_request", f"the request body is malformed: {exc}")
            response.force_close()
        except Exception:
            log.exception("unhandled error on %s %s", request.method, mask_addresses(request.path))
            response = error_response(500, "internal_error", "internal error; the details are in the service log")
        finally:
            if watch is not None:
                bodies.leave(watch)
        if cors_origin is not None:
            response.headers.update(cors_headers(cors_origin))
        metrics.observe_request(request.method, route, response.status, time.perf_counter() - started)
        return response

    return middleware


class ClientErrorLog(logging.Filter):
    """On aiohttp's server logger: malformed HTTP and vanished clients are the client's doing, so
    they are logged at INFO in one line (aiohttp logs them at ERROR with a traceback) and counted
    in ``validator_http_client_errors_total``. They never reach the middleware: no request exists."""

    def __init__(self, metrics: Metrics) -> None:
        super().__init__()
        self._metrics = metrics

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if not isinstance(exc, HttpProcessingError | ConnectionError):
            return True
        self._metrics.count_client_error("malformed" if isinstance(exc, HttpProcessingError) else "disconnect")
        detail = mask_secrets(" ".join(str(exc).split()))  # one line: aiohttp's parser errors span several
        record.msg, record.args = f"{record.getMessage()}: {type(exc).__name__}: {detail}", ()
        record.levelno, record.levelname, record.exc_info, record.exc_text = logging.INFO, "INFO", None, None
        return logging.getLogger(record.name).isEnabledFor(logging.INFO)
