"""Pure rules of job callbacks: where one may go, and how it is signed. No I/O.

Signature: ``X-Validator-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>." + body>``
with ``VALIDATOR_JOB_CALLBACK_SECRET`` (the scheme Stripe and others use: the time inside the
MAC stops replays of old summaries).

Server-side request forgery guard: the SMTP prober's (``netguard.refusal``: only globally
routable unicast addresses, IPv6 forms wrapping a private IPv4 address included), unless the host
or its network is listed in ``VALIDATOR_JOB_CALLBACK_ALLOW``.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from urllib.parse import urlsplit

from .errors import InvalidField
from .netguard import refusal


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def _is_network(item: str) -> bool:
    try:
        ipaddress.ip_network(item, strict=False)
    except ValueError:
        return False
    return True


def callback_target_refusal(host: str, address: str | None, allow: tuple[str, ...]) -> str | None:
    """Why a callback may not go to ``host`` at ``address`` (None: it may). Pure."""
    if host.lower() in allow:
        return None
    if address is None:
        return f"{host} is not a public host"
    networks = [ipaddress.ip_network(item, strict=False) for item in allow if _is_network(item)]
    why = refusal(address, networks)
    return None if why is None else f"{host}: {why}"


def check_callback_url(url: str, allow: tuple[str, ...]) -> str:
    """The URL if it may be a callback target as far as can be told before resolving it."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000:
        raise InvalidField("must be an http(s) URL", field="callback_url")
    host = parts.hostname
    try:
        literal: str | None = str(ipaddress.ip_address(host))
    except ValueError:
        literal = None
        if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
            if host not in allow:
                raise InvalidField(f"{host} is not a public host", field="callback_url") from None
    if literal is not None and (reason := callback_target_refusal(host, literal, allow)):
        raise InvalidField(reason, field="callback_url")
    return url
