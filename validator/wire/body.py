"""Decoding request bodies: UTF-8 first, then JSON, each failure its own error code.

Shared by every edge that reads JSON (the API's wire modules, the event and webhook readers),
so a bad byte is always ``invalid_encoding`` and bad JSON always ``invalid_json``, never a 500.
Pure: bytes in, values out.
"""

from __future__ import annotations

from typing import Any

import orjson

from validator.errors import InvalidEncoding, InvalidJson

# What `curl -d` and other clients send by default. The service takes no HTML forms, so a body of
# this type is read as JSON wherever JSON is accepted, as /v1/validate reads any body; form data
# then answers `invalid_json`, which says what to send.
FORM_DEFAULT = "application/x-www-form-urlencoded"


def decode_utf8(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidEncoding(f"request body is not valid UTF-8 (byte {exc.start})") from exc


def decode_json(body: bytes) -> Any:
    try:
        return orjson.loads(decode_utf8(body))
    except orjson.JSONDecodeError as exc:
        raise InvalidJson(f"request body is not valid JSON: {exc}") from exc
