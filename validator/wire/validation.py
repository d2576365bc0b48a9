"""The JSON wire format: request parsing and response shapes, named as in openapi.yaml.

Bodies are decoded here and nowhere else: UTF-8 first (so a bad byte is ``invalid_encoding``,
not a 500), then JSON, then fields: unknown fields, wrong types and CR/LF/NUL in addresses
are refused with the field named. Pure functions of bytes and values: no aiohttp imports.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from validator.errors import InvalidField, InvalidJson, MissingField, TooManyItems, UnknownField
from validator.model import Address, MxAnswer, MxHost, ProbeResult, Signals, SoftStreak, Suppression, Verdict
from validator.suppressions.keys import refuse_controls
from validator.wire.body import decode_json

# An address longer than this is not an address but an abuse of the endpoint; 254 octets is
# the SMTP limit, and anything between is answered normally as undeliverable (too_long).
MAX_ADDRESS_CHARS = 1024


@dataclass(frozen=True, slots=True)
class ValidateRequest:
    email: str
    smtp: bool
    timeout_ms: int | None


@dataclass(frozen=True, slots=True)
class BatchRequest:
    emails: list[str]
    smtp: bool
    timeout_ms: int | None


def object_with(value: Any, allowed: frozenset[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidJson("request body must be a JSON object")
    for key in value:
        if key not in allowed:
            raise UnknownField(f"unknown field {key!r}", field=key)
    return value


def parse_limit(query: Mapping[str, str], maximum: int) -> int:
    """``?limit=`` of a paged list: 1 to ``maximum``, default 100."""
    try:
        limit = int(query.get("limit", "100"))
    except ValueError as exc:
        raise InvalidField("must be an integer", field="limit") from exc
    if not 1 <= limit <= maximum:
        raise InvalidField(f"must be between 1 and {maximum}", field="limit")
    return limit


def refuse_query_controls(query: Mapping[str, str]) -> None:
    """Every query parameter is one line of text, given once: a control character in a name or value is
    refused here, once for all routes, so both store backends see the same values (PostgreSQL cannot hold
    NUL). A repeated name is refused too: the routes read one value, so ``reason=manual&reason=nonsense``
    filtered by the first without a word, and no route reads ``a&a`` as "a or b"."""
    seen: set[str] = set()
    for name, value in query.items():
        refuse_controls(name, "query")
        refuse_controls(value, name)
        if name in seen:
            raise InvalidField("given more than once; each query parameter takes one value", field=name)
        seen.add(name)


def address_text(value: Any, field: str) -> str:
    """An address to answer about: any string. One that cannot be an address (CR, LF or NUL in it,
    thousands of characters) is answered ``invalid_syntax`` like any other invalid address, not
    refused: an invalid address is the question, not a bad request. Past ``MAX_ADDRESS_CHARS`` it
    is cut, as a job's rows are: it is too long (254 octets at most) either way, and a megabyte is
    neither parsed nor echoed."""
    if not isinstance(value, str):
        raise InvalidField("must be a string", field=field)
    return value[:MAX_ADDRESS_CHARS]


def _options(body: dict[str, Any], max_timeout_ms: int) -> tuple[bool, int | None]:
    smtp = body.get("smtp", False)
    if not isinstance(smtp, bool):
        raise InvalidField("must be true or false", field="smtp")
    timeout_ms = body.get("timeout_ms")
    if timeout_ms is not None:
        if not isinstance(timeout_ms, int) or isinstance(timeout_ms, bool):
            raise InvalidField("must be an integer number of milliseconds", field="timeout_ms")
        if not 1 <= timeout_ms <= max_timeout_ms:
            raise InvalidField(f"must be between 1 and {max_timeout_ms}", field="timeout_ms")
    return smtp, timeout_ms


_VALIDATE_FIELDS = frozenset({"email", "smtp", "timeout_ms"})
_BATCH_FIELDS = frozenset({"emails", "smtp", "timeout_ms"})


def parse_validate(body: bytes, *, max_timeout_ms: int) -> ValidateRequest:
    data = object_with(decode_json(body), _VALIDATE_FIELDS)
    if "email" not in data:
        raise MissingField("field 'email' is required", field="email")
    return ValidateRequest(address_text(data["email"], "email"), *_options(data, max_timeout_ms))


def parse_batch(body: bytes, *, max_timeout_ms: int, max_items: int) -> BatchRequest:
    data = object_with(decode_json(body), _BATCH_FIELDS)
    if "emails" not in data:
        raise MissingField("field 'emails' is required", field="emails")
    emails = data["emails"]
    if not isinstance(emails, list):
        raise InvalidField("must be an array of strings", field="emails")
    if len(emails) > max_items:
        raise TooManyItems(f"at most {max_items} addresses per batch, got {len(emails)}", field="emails")
    checked = [address_text(e, f"emails[{i}]") for i, e in enumerate(emails)]
    return BatchRequest(checked, *_options(data, max_timeout_ms))


def verdict_json(verdict: Verdict) -> dict[str, Any]:
    return {
        "email": verdict.email,
        "normalized": verdict.normalized,
        "status": verdict.status,  # orjson writes enums as their values, tuples as arrays
        "action": verdict.action,
        "reasons": verdict.reasons,
        "suggestion": verdict.suggestion,
        "checks": {
            "syntax": _syntax_json(verdict.syntax),
            "dns": _dns_json(verdict.mx) if verdict.mx is not None else None,
            "signals": _signals_json(verdict.signals) if verdict.signals is not None else None,
            "suppression": suppression_json(verdict.suppression) if verdict.suppression is not None else None,
            "bounces": _streak_json(verdict.soft_streak) if verdict.soft_streak is not None else None,
            "smtp": _smtp_json(verdict.smtp) if verdict.smtp is not None else None,
        },
        "elapsed_ms": round(verdict.elapsed_ms, 3),
    }


def _streak_json(streak: SoftStreak) -> dict[str, Any]:
    return {
        "soft_bounce_sends": streak.sends,
        "first_at": iso_time(streak.first_at),
        "last_at": iso_time(streak.last_at),
    }


def _syntax_json(syntax: Any) -> dict[str, Any]:
    if isinstance(syntax, Address):
        return {
            "valid": True,
            "local_part": syntax.local_part,
            "domain": syntax.domain,
            "ascii_domain": syntax.ascii_domain,
            "smtputf8": syntax.smtputf8,
            "problem": None,
            "message": None,
        }
    return {
        "valid": False,
        "local_part": None,
        "domain": None,
        "ascii_domain": None,
        "smtputf8": False,
        "problem": syntax.problem,
        "message": syntax.message,
    }


def _dns_json(mx: MxAnswer) -> dict[str, Any]:
    return {"outcome": mx.outcome, "mx": _hosts_json(mx.hosts), "ttl": round(mx.ttl, 3), "detail": mx.detail}


# id(hosts) -> (hosts, rendered): every answer the MX cache serves for a domain shares one hosts
# tuple, so it is recognised by identity (0.1 µs) rather than by hashing its MxHosts (0.8 µs).
# The tuple is held here, so its id cannot be reused while it is remembered.
_HOSTS_RENDERED: dict[int, tuple[tuple[MxHost, ...], list[dict[str, Any]]]] = {}
_HOSTS_RENDERED_MAX = 4096


def _hosts_json(hosts: tuple[MxHost, ...]) -> list[dict[str, Any]]:
    """Remembered: a domain's hosts repeat on every request for it. The list is only ever read."""
    seen = _HOSTS_RENDERED.get(id(hosts))
    if seen is not None and seen[0] is hosts:
        return seen[1]
    rendered = [
        {"host": h.host, "preference": h.preference, "addresses": h.addresses, "routable": h.routable} for h in hosts
    ]
    if len(_HOSTS_RENDERED) >= _HOSTS_RENDERED_MAX:
        _HOSTS_RENDERED.clear()
    _HOSTS_RENDERED[id(hosts)] = (hosts, rendered)
    return rendered


def _smtp_json(probe: ProbeResult) -> dict[str, Any]:
    return {
        "outcome": probe.outcome,
        "code": probe.code,
        "enhanced_code": probe.enhanced,
        "text": probe.text,
        "host": probe.host,
        "accept_all": probe.accept_all,
        "tls": probe.tls,
        "cached": probe.cached,
        "elapsed_ms": round(probe.elapsed_ms, 3),
        "detail": probe.detail,
    }


def _signals_json(signals: Signals) -> dict[str, Any]:
    return {
        "disposable": signals.disposable,
        "role_account": signals.role_account,
        "free_provider": signals.free_provider,
        "privacy_relay": signals.privacy_relay,
        "suggestion": signals.suggestion,
    }


def iso_time(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


def suppression_json(entry: Suppression) -> dict[str, Any]:
    return {
        "kind": entry.kind.value,
        "value": entry.value,
        "reason": entry.reason.value,
        "source": entry.source,
        "detail": entry.detail,
        "created_at": iso_time(entry.created_at),
        "updated_at": iso_time(entry.updated_at),
        "expires_at": iso_time(entry.expires_at),
    }


def error_json(code: str, message: str, field: str | None = None) -> bytes:
    return orjson.dumps({"error": {"code": code, "message": message, "field": field}})
