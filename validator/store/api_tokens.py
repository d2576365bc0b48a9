"""API key tokens: their format, their hash, and the short cache of verified tokens.

A token is ``vk_<id>_<secret>`` (``pk_`` for a publishable key, see ``ApiKey``): ``id`` is
16 hex digits, public, the row's primary key; ``secret`` is 32 random bytes, URL-safe base64
(43 characters). Only SHA-256 of the secret is stored: the secret has 256 bits of entropy, so
a slow password hash would add nothing but latency to every request. Verification finds the
row by id and compares hashes with ``hmac.compare_digest`` (constant time).

Verification is on every request's path, so verified tokens are cached for ``ttl`` seconds
(default 5), keyed by SHA-256 of the whole token (the cache never holds a token in clear).
Revoking through a store evicts its cache at once; another process or replica sees a
revocation within ``ttl`` seconds. Failures are not cached (a spray of bad tokens must not
evict good ones); they cost one primary-key lookup.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from yarl import URL

from validator.errors import InvalidField, StoreUnavailable
from validator.model import ORIGIN_PREFIX, PUBLISHABLE, ApiKey

PREFIX = "vk_"
PUBLISHABLE_PREFIX = "pk_"
_DEFAULT_PORTS = {"http": 80, "https": 443}
TOUCH_EVERY = timedelta(seconds=60)  # last_used_at is written at most this often per key


def mint_token(publishable: bool = False) -> tuple[str, str, bytes]:
    """A new ``(key_id, token, secret_sha256)``; the token is shown once and never stored."""
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    return key_id, f"{PUBLISHABLE_PREFIX if publishable else PREFIX}{key_id}_{secret}", hash_secret(secret)


def parse_token(token: str) -> tuple[str, str] | None:
    """``(key_id, secret)`` of a well-formed token, else None."""
    if not token.startswith((PREFIX, PUBLISHABLE_PREFIX)):
        return None
    key_id, sep, secret = token[len(PREFIX) :].partition("_")
    if not sep or len(key_id) != 16 or len(secret) < 43 or len(secret) > 128:
        return None
    return key_id, secret


def hash_secret(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def secret_matches(secret: str, stored_sha256: bytes) -> bool:
    return hmac.compare_digest(hash_secret(secret), bytes(stored_sha256))


def checked_key(name: str, scopes: Iterable[str]) -> tuple[str, frozenset[str]]:
    """Refuse names and scopes the store could not keep faithfully (scopes are stored space-separated)."""
    if not name or not name.isprintable() or len(name) > 200:
        raise InvalidField("a key name is 1-200 printable characters", field="name")
    scope_set = frozenset(scopes)
    if any(not s or not s.isprintable() or " " in s for s in scope_set):
        raise InvalidField("a scope is a non-empty word without spaces", field="scopes")
    origins = {s for s in scope_set if s.startswith(ORIGIN_PREFIX)}
    if PUBLISHABLE in scope_set:
        if scope_set - origins != {PUBLISHABLE}:
            raise InvalidField("a publishable key has no other scope: it may only validate", field="scopes")
        if not origins:
            raise InvalidField("a publishable key needs at least one allowed origin", field="origins")
        scope_set = frozenset({PUBLISHABLE} | {ORIGIN_PREFIX + parse_origin(o[len(ORIGIN_PREFIX) :]) for o in origins})
    elif origins:
        raise InvalidField("only publishable keys are bound to origins", field="origins")
    return name, scope_set


def parse_origin(text: str) -> str:
    """An origin as browsers send it (RFC 6454 §6.1): ``scheme://host[:port]``, lower case, an
    internationalised name in its ``xn--`` form, no default port, no path; or ``null``, what a
    page opened from a file sends (for local trials)."""
    if text == "null":
        return text
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError as exc:
        raise InvalidField(f"not an origin: {text!r}", field="origins") from exc
    if (
        parts.scheme not in _DEFAULT_PORTS
        or not parts.hostname
        or parts.username
        or parts.password
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
    ):
        raise InvalidField(f"an origin is scheme://host[:port] with http or https: {text!r}", field="origins")
    host = parts.hostname
    if not host.isascii():  # a browser sends the ASCII form (URL standard, "domain to ASCII": UTS #46)
        try:
            host = URL.build(host=host).raw_host or ""
        except (ValueError, UnicodeError) as exc:
            raise InvalidField(f"not an origin: {text!r}", field="origins") from exc
    host = f"[{host}]" if ":" in host else host
    shown_port = f":{port}" if port is not None and port != _DEFAULT_PORTS[parts.scheme] else ""
    return f"{parts.scheme}://{host}{shown_port}"


def needs_touch(key: ApiKey, now: datetime) -> bool:
    return key.last_used_at is None or now - key.last_used_at >= TOUCH_EVERY


Fetch = Callable[[str], Awaitable[tuple[ApiKey, bytes] | None]]  # key id -> (key, secret_sha256)
Touch = Callable[[str, datetime], Awaitable[None]]  # key id, now -> record last use


class KeyVerifier:
    """``verify(token)`` for both backends: parse, cache, fetch by id, compare, touch."""

    def __init__(self, fetch: Fetch, touch: Touch, clock: Callable[[], datetime], ttl: float) -> None:
        self._fetch, self._touch, self._clock = fetch, touch, clock
        self._verified = VerifiedTokens(ttl)
        self._touching: set[asyncio.Task[None]] = set()

    async def verify(self, token: str) -> ApiKey | None:
        parsed = parse_token(token)
        if parsed is None:
            return None
        digest = VerifiedTokens.digest(token)
        cached = self._verified.get(digest)
        if cached is not None:
            return cached
        found = await self._fetch(parsed[0])
        if found is None or found[0].revoked or not secret_matches(parsed[1], found[1]):
            return None
        if found[0].publishable != token.startswith(PUBLISHABLE_PREFIX):
            return None  # a token's prefix says where it may be shown; it must tell the truth
        key, now = found[0], self._clock()
        self._verified.put(digest, key)
        if needs_touch(key, now):  # in the background: a commit must not delay the request
            task = asyncio.ensure_future(self._touch_quietly(key.id, now))
            self._touching.add(task)
            task.add_done_callback(self._touching.discard)
        return key

    def recall(self, token: str) -> ApiKey | None:
        """The key of a token ``verify`` accepted within ``ttl`` seconds, or None, without awaiting:
        a cache hit of ``verify`` minus its three coroutine frames (only a well-formed token that
        matched its key was ever cached, so parsing it again would change nothing)."""
        return self._verified.get(VerifiedTokens.digest(token))

    def forget(self, key_id: str) -> None:
        self._verified.forget(key_id)

    async def close(self) -> None:
        if self._touching:
            await asyncio.gather(*self._touching, return_exceptions=True)

    async def _touch_quietly(self, key_id: str, now: datetime) -> None:
        try:
            await self._touch(key_id, now)
        except StoreUnavailable:
            pass  # last_used_at is a hint; the request it came from was already answered


class VerifiedTokens:
    """Tokens verified in the last ``ttl`` seconds, by SHA-256 of the token.

    A plain dict of (key, monotonic expiry) bounded at ``maxsize`` entries, the oldest dropped
    first; expiry is checked on read. This runs on every request: cachetools' TTLCache sweeps
    expired entries on each access (several µs), its LRUCache costs 0.8 µs a hit, a dict 0.1 µs.
    Only tokens that verified are put, so the entries are bounded by the keys in use anyway.
    """

    def __init__(self, ttl: float, maxsize: int = 4096) -> None:
        self._ttl, self._maxsize = ttl, maxsize
        self._cache: dict[bytes, tuple[ApiKey, float]] | None = {} if ttl > 0 else None

    @staticmethod
    def digest(token: str) -> bytes:
        return hashlib.sha256(token.encode()).digest()

    def get(self, digest: bytes) -> ApiKey | None:
        entry = None if self._cache is None else self._cache.get(digest)
        if entry is None or entry[1] <= time.monotonic():
            return None
        return entry[0]

    def put(self, digest: bytes, key: ApiKey) -> None:
        if self._cache is not None:
            self._cache.pop(digest, None)  # put again at the end: the oldest entry is dropped first
            if len(self._cache) >= self._maxsize:
                del self._cache[next(iter(self._cache))]
            self._cache[digest] = (key, time.monotonic() + self._ttl)

    def forget(self, key_id: str) -> None:
        if self._cache is not None:
            for digest in [d for d, (k, _) in self._cache.items() if k.id == key_id]:
                self._cache.pop(digest, None)
