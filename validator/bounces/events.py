"""Reading our own JSON delivery events (``POST /v1/events``, ``validator ingest`` of .json/.ndjson) into facts.

A body is one JSON object, a JSON array of objects, or NDJSON (``application/x-ndjson``: one
object per line, blank lines skipped). Each object is one event about one recipient:

    {"event": "bounce", "type": "hard", "email": "user@example.com", "smtp_code": 550,
     "smtp_enhanced_code": "5.1.1", "smtp_message": "The email account that you tried to reach does not exist",
     "timestamp": "2026-03-15T08:42:11Z", "provider": "gmail", "id": "evt-1", "message_id": "<m1@example.com>",
     "campaign_id": "spring", "sender": "news@example.org"}

- ``event`` (required): sent, delivered, bounce, deferred, complaint, unsubscribe.
- ``email`` (required): the recipient, as sent (normalised later, by ingestion).
- ``timestamp`` (required): RFC 3339 with a zone (``Z`` or ``+02:00``); stored in UTC.
- ``type``: ``hard`` or ``soft``, the platform's own label: kept as ``claimed_type``, never trusted.
- ``smtp_code`` (integer 200-599), ``smtp_enhanced_code`` (``X.Y.Z``, RFC 3463), ``smtp_message``
  (the remote server's reply; line breaks allowed, since multi-line replies are real; no NUL).
- ``provider``, ``id`` (the event's own id: idempotency), ``message_id`` (the send: retries count
  once), ``campaign_id``, ``sender``, ``feedback_type`` (complaints: RFC 5965 abuse, not-spam, ...).

Strict, as the rest of the wire: unknown fields, wrong types, CR/LF/NUL in identifiers, a time
without a zone, a malformed enhanced code or a code outside 200-599 are refused with the error
class and the field path (``events[3].smtp_code`` in an array, ``line 4.smtp_code`` in NDJSON);
more than ``max_events`` events is ``TooManyItems``. The whole body is refused on the first bad
event, so a sender never has to guess which half was ingested.

A bounce's reason is re-derived from its code, enhanced code and text by ``classify.reason_of``,
like a raw DSN's; ``type`` is only evidence. **A bounce with no code and no text** gets reason
``undefined`` whatever its ``type``: policy files it as ``soft_transient``, so it counts toward
the chronic-soft streak (suppressed after repeated sends) but never suppresses at once. Why: a
bare "hard" is exactly the label that ESPs also put on blocks and reputation refusals (SendGrid
``blocked``, SES ``Permanent/General``; a Spamhaus listing reported as "hard" would wipe a list
in one batch, hyvor/relay #258), and nothing in the event lets us tell. Platforms that want an
immediate suppression send the reply they got, which is what decides. Pure: no I/O.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import orjson

from validator.bounces.evidence import ENHANCED_STATUS, read_failure, settle
from validator.bounces.facts import BounceFact, BounceReason, DsnAction, EventKind
from validator.errors import (
    InvalidEncoding,
    InvalidField,
    InvalidJson,
    MissingField,
    TooManyItems,
    UnknownField,
    UnsupportedMediaType,
    ValidatorError,
)
from validator.suppressions.keys import MAX_DETAIL, parse_time, refuse_controls
from validator.wire.body import FORM_DEFAULT, decode_utf8

DEFAULT_MAX_EVENTS = 10_000
MAX_TEXT = 1024  # an address, an id, a name: longer is abuse of the endpoint, not data
NDJSON_TYPES = frozenset({"application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines"})
_KINDS = {
    kind.value: kind
    for kind in (
        EventKind.SENT,
        EventKind.DELIVERED,
        EventKind.BOUNCE,
        EventKind.DEFERRED,
        EventKind.COMPLAINT,
        EventKind.UNSUBSCRIBE,
    )
}
_FIELDS = frozenset(
    {
        "event",
        "email",
        "type",
        "smtp_code",
        "smtp_enhanced_code",
        "smtp_message",
        "timestamp",
        "provider",
        "id",
        "message_id",
        "campaign_id",
        "sender",
        "feedback_type",
    }
)
# RFC 3339 §5.6 date-time: a full date, a full time, and an offset (Z or ±hh:mm); "T" or a space between
_RFC3339 = re.compile(r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:[Zz]|[+-]\d\d:\d\d)")
_FEEDBACK_TYPE = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")  # RFC 5965 §3.1 / RFC 6650 registry tokens


def read_events(body: bytes, content_type: str, *, max_events: int = DEFAULT_MAX_EVENTS) -> list[BounceFact]:
    """The facts of every event in ``body``, in order; a bad event refuses the whole body."""
    media = content_type.partition(";")[0].strip().lower()
    text = decode_utf8(body)
    if media in NDJSON_TYPES:
        return list(_ndjson_facts(text, max_events))
    if media and media not in ("application/json", FORM_DEFAULT) and not media.endswith("+json"):
        raise UnsupportedMediaType(f"send application/json or application/x-ndjson, not {media}")
    data = _loads(text, "request body")
    if isinstance(data, list):
        if len(data) > max_events:
            raise TooManyItems(f"at most {max_events} events per request, got {len(data)}", field="events")
        return [_fact(item, f"events[{i}].", f"events[{i}]: ") for i, item in enumerate(data)]
    return [_fact(data, "", "")]


def _ndjson_facts(text: str, max_events: int) -> Iterator[BounceFact]:
    lines = [(n, line) for n, line in enumerate(text.split("\n"), 1) if line.strip()]
    if len(lines) > max_events:
        raise TooManyItems(f"at most {max_events} events per request, got {len(lines)}", field="events")
    for n, line in lines:
        yield _fact(_loads(line, f"line {n}", field=f"line {n}"), f"line {n}.", f"line {n}: ")


def read_event_file(body: bytes, content_type: str) -> Iterator[tuple[str, BounceFact | ValidatorError]]:
    """``validator ingest``: each event of a file in turn with where it is (``line 4``, ``events[3]``), a bad
    one as its error and the rest read on; no cap on their number (the caller writes them in batches).
    A body of the API is all or nothing (``read_events``); a file of 10,000 good events and one bad line
    was dropped whole, named only by its path. A JSON file that does not parse at all still raises."""
    if content_type.partition(";")[0].strip().lower() in NDJSON_TYPES:
        for number, line in enumerate(io.BytesIO(body), 1):  # a line at a time, never all the lines at once
            if line.strip():
                where = f"line {number}"
                try:
                    text = line.decode("utf-8").removeprefix("\ufeff" if number == 1 else "")  # a file's BOM
                    yield where, _fact(_loads(text, "the line"), f"{where}.", "")
                except UnicodeDecodeError:
                    yield where, InvalidEncoding("the line is not valid UTF-8")
                except ValidatorError as exc:
                    yield where, exc
        return
    data = _loads(decode_utf8(body), "the file")
    for index, item in enumerate(data if isinstance(data, list) else [data]):
        where = f"events[{index}]"
        try:
            yield where, _fact(item, f"{where}.", "")
        except ValidatorError as exc:
            yield where, exc


def _loads(text: str, where: str, field: str | None = None) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise InvalidJson(f"{where} is not valid JSON: {exc}", field=field) from exc


def _fact(item: Any, path: str, say: str) -> BounceFact:
    """One event object → its fact; ``path`` prefixes field names, ``say`` prefixes messages."""
    if not isinstance(item, dict):
        raise InvalidJson(f"{say}each event must be a JSON object", field=path.rstrip(".") or None)
    for key in item:
        if key not in _FIELDS:
            shown = key[:64]  # the name is echoed back: bounded
            raise UnknownField(f"{say}unknown field {shown!r}", field=path + shown)
    get = _Fields(item, path, say)
    kind = get.choice("event", _KINDS, required=True)
    claimed = get.choice("type", {"hard": "hard", "soft": "soft"})
    code = get.integer("smtp_code", 200, 599)
    status = get.enhanced("smtp_enhanced_code")
    message = get.text("smtp_message", MAX_DETAIL, line_breaks=True)
    common = {
        "recipient": get.text("email", MAX_TEXT, required=True),  # its syntax is ingestion's to judge, per recipient
        "event": kind,
        "timestamp": get.time("timestamp"),
        "claimed_type": claimed,
        "provider": get.text("provider", MAX_TEXT),
        "event_id": get.text("id", MAX_TEXT),
        "message_id": get.text("message_id", MAX_TEXT),
        "campaign_id": get.text("campaign_id", MAX_TEXT),
        "sender": get.text("sender", MAX_TEXT),
    }
    feedback = get.text("feedback_type", 64)
    if feedback is not None and not _FEEDBACK_TYPE.fullmatch(feedback.lower()):
        raise InvalidField(
            f"{say}feedback_type must be a token such as abuse or not-spam", field=path + "feedback_type"
        )
    return _build(common, code, status, message, feedback.lower() if feedback else None)


def _build(
    common: dict[str, Any], code: int | None, status: str | None, message: str | None, feedback: str | None
) -> BounceFact:
    kind: EventKind = common["event"]
    if kind is EventKind.COMPLAINT:
        return BounceFact(**common, reason=BounceReason.FEEDBACK, feedback_type=feedback)
    if kind in (EventKind.SENT, EventKind.UNSUBSCRIBE):
        return BounceFact(**common)
    failure = read_failure(code, status, message)
    if kind is EventKind.DELIVERED:
        reason: BounceReason | None = BounceReason.DELIVERED
        action: DsnAction | None = DsnAction.DELIVERED
    else:  # bounce or deferred: the reply decides; a bare "type" is never enough (module docstring)
        reason = settle(failure, None)
        action = DsnAction.FAILED if kind is EventKind.BOUNCE else DsnAction.DELAYED
    return BounceFact(
        **common,
        reason=reason,
        action=action,
        status=failure.status,
        status_source=failure.status_source,
        reply_code=failure.reply_code,
        diagnostic=failure.diagnostic,
    )


class _Fields:
    """Typed getters over one event object; each error names ``path + field``. Null means absent."""

    def __init__(self, item: dict[str, Any], path: str, say: str) -> None:
        self._item, self._path, self._say = item, path, say

    def _raw(self, name: str, required: bool) -> Any:
        value = self._item.get(name)
        if value is None and required:
            raise MissingField(f"{self._say}field {name!r} is required", field=self._path + name)
        return value

    def _bad(self, name: str, message: str) -> InvalidField:
        return InvalidField(f"{self._say}{name} {message}", field=self._path + name)

    def text(self, name: str, limit: int, *, required: bool = False, line_breaks: bool = False) -> str | None:
        value = self._raw(name, required)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self._bad(name, "must be a string")
        if len(value) > limit:
            raise self._bad(name, f"is longer than {limit} characters")
        try:
            return refuse_controls(value, self._path + name, multiline=line_breaks)
        except InvalidField as exc:
            raise self._bad(name, exc.message) from exc

    def choice(self, name: str, allowed: dict[str, Any], *, required: bool = False) -> Any:
        value = self._raw(name, required)
        if value is None:
            return None
        if not isinstance(value, str) or value not in allowed:
            raise self._bad(name, f"must be one of {', '.join(allowed)}")
        return allowed[value]

    def integer(self, name: str, low: int, high: int) -> int | None:
        value = self._raw(name, False)
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise self._bad(name, f"must be an integer from {low} to {high}")
        return value

    def enhanced(self, name: str) -> str | None:
        value = self._raw(name, False)
        if value is None:
            return None
        if not isinstance(value, str) or not ENHANCED_STATUS.fullmatch(value):
            raise self._bad(name, "must be an enhanced status code X.Y.Z (RFC 3463), e.g. 5.1.1")
        return value

    def time(self, name: str) -> datetime:
        value = self._raw(name, True)
        if not isinstance(value, str) or not _RFC3339.fullmatch(value):
            raise self._bad(name, "must be an RFC 3339 date-time with a zone, e.g. 2026-03-15T08:42:11Z")
        try:
            return parse_time(value.replace(" ", "T", 1), self._path + name)
        except InvalidField as exc:  # 2026-02-30T...: the shape was right, the date is not
            raise self._bad(name, "is not a valid date-time") from exc
