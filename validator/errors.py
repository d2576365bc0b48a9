"""The one error vocabulary that the API and the CLI both render.

An invalid *address* is never an error: it is a verdict. These classes are for requests
the service cannot answer at all. Each class carries a stable ``code`` (API contract);
the HTTP layer maps classes to statuses and the CLI to exit codes, each in one table.

    ValidatorError                      internal_error
    ├── ConfigError                     config_error        (bad VALIDATOR_* value; before bind)
    ├── BadRequest                      bad_request
    │   ├── InvalidJson                 invalid_json
    │   ├── InvalidCsv                  invalid_csv         (a quoted field that never closes)
    │   ├── InvalidEncoding             invalid_encoding    (body is not UTF-8)
    │   ├── InvalidField                invalid_field       (wrong type, out of range, CR/LF/NUL)
    │   ├── MissingField                missing_field
    │   ├── UnknownField                unknown_field
    │   ├── TooManyItems                too_many_items
    │   └── UnsupportedMediaType        unsupported_media_type
    ├── Unauthorized                    unauthorized        (missing, malformed, unknown or revoked key)
    ├── InvalidSignature                invalid_signature   (webhook unsigned, wrongly signed, stale, unexpected topic)
    ├── Forbidden                       forbidden           (the key lacks the route's scope)
    ├── BodyTooLarge                    body_too_large
    ├── NotFound                        not_found
    │   └── WebhookNotConfigured        webhook_not_configured (no secret set for that provider)
    ├── MethodNotAllowed                method_not_allowed
    ├── Conflict                        conflict            (e.g. an active API key already has that name)
    ├── UnparseableMessage              unparseable_message (not a mail message, or a bounce naming no recipient)
    │   └── JobNotFinished              job_not_finished    (a job's results before it finished)
    ├── StoreUnavailable                store_unavailable   (store down, locked or unreachable; retry later)
    │   └── StoreReadOnly               store_read_only     (reads work, the database cannot be written)
    ├── FileUnusable                    file_unusable       (CLI: a named file cannot be read or written)
    └── Unreachable                     unreachable         (CLI: cannot listen on the port, or reach the service)
"""

from __future__ import annotations

from typing import ClassVar


class ValidatorError(Exception):
    """Base of every error a caller can see. ``code`` is stable API; the message is for people."""

    code: ClassVar[str] = "internal_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ConfigError(ValidatorError):
    code = "config_error"


class BadRequest(ValidatorError):
    code = "bad_request"


class InvalidJson(BadRequest):
    code = "invalid_json"


class InvalidCsv(BadRequest):
    """A CSV upload whose records cannot be told apart: a quoted field still open at the end of the input."""

    code = "invalid_csv"


class InvalidEncoding(BadRequest):
    code = "invalid_encoding"


class InvalidField(BadRequest):
    code = "invalid_field"


class MissingField(BadRequest):
    code = "missing_field"


class UnknownField(BadRequest):
    code = "unknown_field"


class TooManyItems(BadRequest):
    code = "too_many_items"


class UnsupportedMediaType(BadRequest):
    code = "unsupported_media_type"


class Unauthorized(ValidatorError):
    code = "unauthorized"


class InvalidSignature(ValidatorError):
    """A webhook request that does not prove it comes from the provider: refused before it is read.

    Not an ``Unauthorized``: no API key is involved, and the answer must not ask for a bearer token.
    The message says what failed (missing header, bad signature, too old), never a secret.
    """

    code = "invalid_signature"


class Forbidden(ValidatorError):
    code = "forbidden"


class RateLimited(ValidatorError):
    """Too many requests for a publishable key or a client address; ``retry_after`` in seconds."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class BodyTooLarge(ValidatorError):
    code = "body_too_large"


class BodyTimeout(ValidatorError, TimeoutError):
    """The client stopped sending the request body (``VALIDATOR_BODY_IDLE_TIMEOUT``).

    A ``TimeoutError`` too: after the 408, aiohttp drains what is left of a body for a while and
    stops quietly on a timeout; any other exception there is logged as unhandled."""

    code = "body_timeout"


class Busy(ValidatorError):
    """Too many request bodies in flight (``VALIDATOR_BODIES_IN_FLIGHT``): retry shortly."""

    code = "busy"


class NotFound(ValidatorError):
    code = "not_found"


class WebhookNotConfigured(NotFound):
    """A webhook for a provider whose key, certificate or credentials the operator has not set."""

    code = "webhook_not_configured"


class MethodNotAllowed(ValidatorError):
    code = "method_not_allowed"


class Conflict(ValidatorError):
    """The request contradicts what is stored (an active API key with the same name)."""

    code = "conflict"


class UnparseableMessage(ValidatorError):
    """A raw message the bounce reader cannot use: not a mail message, or a bounce whose recipient is not found.

    Raised only by ``validator.bounces.readers.message.read_message``; the API answers 422, the CLI counts
    the file as unparseable. Ordinary mail that is not a report is not an error: it yields no facts.
    """

    code = "unparseable_message"


class JobNotFinished(Conflict):
    """A job's results were asked for while it is still queued or running."""

    code = "job_not_finished"


class StoreUnavailable(ValidatorError):
    """The store cannot answer now: down, locked, unreachable, out of connections.

    Raised only by ``validator.store`` backends, translated from their library's exceptions
    (``raise ... from exc``). Transient by nature: the HTTP layer answers 503 with Retry-After.
    """

    code = "store_unavailable"


class StoreReadOnly(StoreUnavailable):
    """The store answers reads but its database refuses writes: a read-only SQLite file (a restore
    with the wrong owner, ``chmod``, an immutable file) or a read-only PostgreSQL database or standby.

    The store retries writability by itself (each write and each readiness check try again), so
    fixing the permissions brings it back without a restart; until then ``/readyz`` says so.
    """

    code = "store_read_only"


class FileUnusable(ValidatorError):
    """A file the command line names cannot be read or written (missing, a folder, no permission)."""

    code = "file_unusable"


class Unreachable(ValidatorError):
    """The network refuses the command: the port to listen on is taken, or the service at ``--url`` does not answer."""

    code = "unreachable"
