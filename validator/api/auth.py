"""API keys on the wire: which scope each route needs, and reading the bearer token.

Every route needs a key except the probes a load balancer calls (/healthz, /readyz). The
store verifies tokens (hashed, constant-time, cached a few seconds); here we only map routes
to scopes, so the table below is the whole access policy in one place.
"""

from __future__ import annotations

from aiohttp import web

from validator.errors import Forbidden, Unauthorized
from validator.model import ApiKey

# Webhooks are authenticated by the provider's signature instead (validator.bounces.webhooks).
# The widget and the dashboard's page are public files: the dashboard asks for a key in the page.
PUBLIC = frozenset(
    {"/healthz", "/readyz", "/v1/webhooks/{provider}", "/widget/v1.js", "/dashboard", "/dashboard/{file}"}
)
# A CORS preflight carries no credentials (Fetch standard, "CORS-preflight request").
PUBLIC_METHODS = frozenset({("OPTIONS", "/v1/validate")})
PUBLISHABLE_ROUTES = frozenset({("POST", "/v1/validate")})
# (method, route) -> scope; "admin" satisfies every scope.
REQUIRED: dict[tuple[str, str], str] = {
    ("POST", "/v1/validate"): "validate",
    ("POST", "/v1/validate/batch"): "validate",
    ("GET", "/metrics"): "admin",
    ("POST", "/v1/suppressions/lookup"): "suppressions:read",
    ("GET", "/v1/suppressions"): "suppressions:read",
    ("GET", "/v1/suppressions/{email}"): "suppressions:read",
    ("GET", "/v1/suppressions/domains/{domain}"): "suppressions:read",
    ("PUT", "/v1/suppressions/{email}"): "suppressions:write",
    ("PUT", "/v1/suppressions/domains/{domain}"): "suppressions:write",
    ("DELETE", "/v1/suppressions/{email}"): "suppressions:write",
    ("DELETE", "/v1/suppressions/domains/{domain}"): "suppressions:write",
    ("POST", "/v1/suppressions/import"): "suppressions:write",
    ("POST", "/v1/events"): "events:write",
    ("POST", "/v1/bounces"): "events:write",
    ("GET", "/v1/reports/bounce-rates"): "reports:read",
    ("POST", "/v1/jobs"): "jobs",
    ("GET", "/v1/jobs"): "jobs",
    ("GET", "/v1/jobs/{job_id}"): "jobs",
    ("GET", "/v1/jobs/{job_id}/results"): "jobs",
    ("DELETE", "/v1/jobs/{job_id}"): "jobs",
    ("GET", "/v1/reports/campaigns"): "reports:read",
    ("GET", "/v1/events"): "reports:read",
    ("GET", "/v1/keys"): "admin",
    ("POST", "/v1/keys"): "admin",
    ("DELETE", "/v1/keys/{key_id}"): "admin",
}


def bearer_token(request: web.Request) -> str:
    """The token of the one ``Authorization: Bearer <key>`` field (RFC 6750 §2.1)."""
    fields = request.headers.getall("Authorization", ())
    if not fields:
        raise Unauthorized("send an API key: Authorization: Bearer <key>")
    if len(fields) > 1:  # RFC 9110 §5.3: a singleton field; a proxy may read the last one where we read the first
        raise Unauthorized("send one Authorization header, not several")
    scheme, _, token = fields[0].partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("the Authorization header must be 'Bearer <key>'")
    # Tokens are ASCII (hex and URL-safe base64). A header that is not UTF-8 reaches us with lone
    # surrogates (aiohttp decodes it with surrogateescape), which the token cache cannot hash.
    if not token.isascii():
        raise Unauthorized("unknown or revoked API key")
    return token


def is_public(method: str, route: str) -> bool:
    return route in PUBLIC or (method, route) in PUBLIC_METHODS


def check_scope(key: ApiKey | None, method: str, route: str) -> None:
    if key is None:
        raise Unauthorized("unknown or revoked API key")
    if key.publishable:
        if (method, route) not in PUBLISHABLE_ROUTES:
            raise Forbidden("a publishable key may only call POST /v1/validate")
        return
    needed = REQUIRED.get((method, route), "admin")  # a route missing from the table is admin-only
    if needed not in key.scopes and "admin" not in key.scopes:
        raise Forbidden(f"this key lacks the '{needed}' scope")
