"""Pure rules of job callbacks: where one may go, and how it is signed. No I/O.

Signature: ``X-Validator-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>." + body>``
with ``VALIDATOR_JOB_CALLBACK_SECRET`` (the scheme Stripe and others use: the time inside the
MAC stops replays of old summaries).

Server-side request forgery guard: the SMTP prober's (``netguard.refusal``: only globally
routable unicast addresses, IPv6 forms wrapping a private IPv4 address included), unless the host
or its network is listed in ``VALIDATOR_JOB_CALLBACK_ALLOW``. The URL is judged as the HTTP
client will use it: parsed by yarl, whose IDNA mapping (UTS #46) folds ``127。0。0。1``,
``１２７.０.０.１`` and ``①②⑦.0.0.1`` into ``127.0.0.1``. The sender checks again, on every
address a socket is about to connect to (``callbacks.py``).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re

from yarl import URL

from validator.errors import InvalidField
from validator.netguard import refusal

MAX_URL_CHARS = 2000
# What getaddrinfo (inet_aton) would read as an IPv4 address although ipaddress does not:
# 2130706433, 0177.0.0.1, 0x7f.1, 127.1. The WHATWG URL standard's "ends in a number" rule:
# a host whose last label is numeric is an IPv4 address, never a name.
_ENDS_IN_A_NUMBER = re.compile(r"(^|\.)(\d+|0x[0-9a-f]*)\.?$", re.IGNORECASE)
_HOST_NAME = re.compile(r"[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\.?")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")
_LOCAL_NAMES = ("localhost", ".localhost", ".local", ".internal", ".home.arpa")


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
    """Why a callback may not go to ``host`` at ``address`` (None: it may). Pure.

    An address ipaddress cannot read (``2130706433``, ``fe80::1%eth0``) is refused, not guessed."""
    if host.lower().rstrip(".") in allow:
        return None
    if address is None:
        return f"{host} is not a public host"
    networks = [ipaddress.ip_network(item, strict=False) for item in allow if _is_network(item)]
    why = refusal(address, networks)
    return None if why is None else f"{host}: {why}"


def parse_callback_url(text: str, allow: tuple[str, ...]) -> URL:
    """The URL the client will request, if its host may be a callback target as far as can be
    told before resolving it; else ``InvalidField`` naming why."""
    if _CONTROLS.search(text):  # the WHATWG URL parser drops tabs and line breaks unseen: say so instead
        raise InvalidField("must not contain control characters", field="callback_url")
    try:
        url = URL(text) if len(text) <= MAX_URL_CHARS else None
    except (ValueError, UnicodeError):  # yarl refuses what IDNA cannot encode
        url = None
    if url is None or url.scheme not in ("http", "https") or not url.raw_host:
        raise InvalidField(f"must be a valid http(s) URL of at most {MAX_URL_CHARS} characters", field="callback_url")
    host = url.raw_host.lower()  # after IDNA: ASCII, as it goes to the resolver or the socket
    if why := host_refusal(host, allow):
        raise InvalidField(why, field="callback_url")
    return url


def host_refusal(host: str, allow: tuple[str, ...]) -> str | None:
    """Why a URL's (normalised, ASCII) host may not be a callback target before resolving it."""
    bare = host.rstrip(".")
    if bare in allow:
        return None
    try:
        literal = ipaddress.ip_address(bare)
    except ValueError:
        literal = None
    if literal is not None:
        return callback_target_refusal(host, str(literal), allow)
    if "%" in host:  # a zone id (fe80::1%eth0) or a percent-encoded name: nothing public needs either
        return f"{host} is not a host name nor a plain IP address"
    if _ENDS_IN_A_NUMBER.search(host):
        return f"{host}: an IPv4 address must be written as four decimal numbers (a.b.c.d)"
    if not _HOST_NAME.fullmatch(host):
        return f"{host} is not a host name"
    if bare == "localhost" or bare.endswith(_LOCAL_NAMES):
        return f"{host} is not a public host"
    return None


def check_callback_url(text: str, allow: tuple[str, ...]) -> str:
    """The URL as it will be requested (normalised), if it may be a callback target."""
    return str(parse_callback_url(text, allow))
