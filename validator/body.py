"""Decoding request bodies: UTF-8 first, then JSON, each failure its own error code.

Shared by every edge that reads JSON (the API's wire modules, the event and webhook readers),
so a bad byte is always ``invalid_encoding`` and bad JSON always ``invalid_json``, never a 500.
Pure: bytes in, values out.
"""

from __future__ import annotations

from typing import Any

import orjson

from .errors import InvalidEncoding, InvalidJson


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
