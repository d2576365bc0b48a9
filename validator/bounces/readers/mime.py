"""A read-only view of one raw report message for the bounce readers: parts, texts, the original.

``Report.of(message)`` gathers once what every detector needs: the human-readable notice
(decoded, and cut before the returned copy of the original message, so that no detector can
harvest an address from it: flufl.bounce GitLab #12), the original message's headers, and the
report's own identity. Pure: no files, no sockets; every accessor is total on malformed input.
"""

from __future__ import annotations

import email.errors
import email.header
import email.parser
import email.policy
import email.utils
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message

_MAX_NOTICE = 64_000
_MAX_BODY = 512_000
_HEADERS = email.parser.Parser(policy=email.policy.compat32)
_TAG = re.compile(r"<[^<>]{0,1000}>")  # a notice is a few KB; a larger one is an attached original, not prose
# Where the returned copy of the original message starts in a plain-text bounce; the notice ends there.
# Leading blanks within the marker's line only: "^\s*" also ran over line ends, so every line start
# of a run of blank lines rescanned the rest of the run (80 KB of "   \n" held the event loop 149 s).
_ORIGINAL_MARKERS = re.compile(
    r"^[^\S\n]*(?:"
    r"-+ ?below this line is a copy of the message"  # qmail, Yahoo: "--- Below this line is a copy of the message."
    # Exim: "------ This is a copy of the message, including all the headers. ------"
    r"|-+ ?this is a copy of the message"
    r"|-+ ?original message"  # Gmail: "----- Original message -----"; "--- Original message follows."
    r"|message headers follow"  # DragonFly Mail Agent: "Message headers follow."
    # Sendmail V5: "----- Unsent message follows -----"
    r"|-+ ?(?:the )?(?:returned|unsent|undelivered) (?:mail|message)"
    r"|-+ ?(?:original|returned) message (?:header|text|follows)"
    r"|-+ ?message text follows"
    r"|-+ ?headers? of (?:the )?(?:original|returned|your) message"
    r")",
    re.IGNORECASE | re.MULTILINE,
)
# Header fields that never occur in a human-written notice: the original's header block begins here.
_HEADER_START = re.compile(
    r"^(?:Received|Return-Path|Delivered-To|DKIM-Signature|ARC-Seal|X-Received|X-Google-Smtp-Source"
    r"|Authentication-Results|Message-I[Dd]|MIME-Version): ",
    re.IGNORECASE | re.MULTILINE,
)
_DAEMON_PATH = re.compile(r"mailer-daemon|mail-daemon|mail\.delivery\.system", re.IGNORECASE)
_BOUNCE_SENDER = re.compile(r"mailer-daemon|mail-daemon|postmaster|mailerdaemon|bounce|mdaemon|daemon@", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Report:
    """What the readers look at in one message."""

    message: Message
    parts: tuple[tuple[str, Message], ...]  # (content type, part) outside any returned original, walked once
    notice: str  # the human-readable part, decoded, ending before the returned original
    original: Message | None  # the returned original's headers, if any part holds them
    body: str  # the whole body as text, undecoded: for fields a broken MIME structure hid

    @classmethod
    def of(cls, message: Message, raw: bytes | bytearray) -> Report:
        parts = tuple((_content_type(part), part) for part in walk(message))
        notice, rest = _notice_and_rest(message, parts)
        at = raw.find(b"\n\n")
        start = at + 2 if at >= 0 else 0
        body = raw[start : start + _MAX_BODY].decode("utf-8", "replace")  # bounded before decoding: no copy of the rest
        return cls(message, parts, notice, _original(parts, rest), body)

    def parts_of(self, *kinds: str) -> list[Message]:
        return [part for kind, part in self.parts if kind in kinds]

    def header(self, name: str) -> str:
        return header_text(self.message, name)

    def original_header(self, name: str) -> str:
        return header_text(self.original, name) if self.original is not None else ""

    def from_mail_system(self) -> bool:
        """Sent by the mail system: a daemon sender ("MAILER-DAEMON@", "postmaster@") or X-Failed-Recipients (Exim)."""
        return bool(
            self.header("X-Failed-Recipients")
            or _BOUNCE_SENDER.search(self.header("From"))
            or _DAEMON_PATH.search(self.header("Return-Path"))
        )

    def null_sender(self) -> bool:
        """RFC 5321 §4.5.5: notifications are sent with a null reverse-path, "Return-Path: <>"."""
        return self.header("Return-Path").replace(" ", "") == "<>"

    def says_undelivered(self) -> bool:
        """The notice opens by saying mail was not delivered ("The following addresses had permanent fatal errors")."""
        return bool(_FAILURE_NOTICE.search(self.notice[:2000]))

    def names_undelivered(self) -> bool:
        """The notice says which address was not delivered to (au one net: "Could not be delivered to: <x@y>")."""
        return bool(_UNDELIVERED_TO.search(self.notice[:4000]))

    def looks_like_bounce(self) -> bool:
        """A failure subject: "Undelivered Mail Returned to Sender", "failure notice", "Undeliverable: ..." """
        return bool(_FAILURE_SUBJECT.search(self.header("Subject")))

    def quotes_reply(self) -> bool:
        """The notice quotes an SMTP failure reply: "550 5.1.1 ...", "Remote host said: 554 ..." """
        return bool(_QUOTED_REPLY.search(self.notice[:8000]))


# Subjects MTAs give bounces: "Undelivered Mail Returned to Sender" (Postfix), "failure notice" (qmail),
# "Mail delivery failed" (Exim), "Delivery Status Notification (Failure)" (Gmail), "Undeliverable: ..." (Exchange)
_FAILURE_SUBJECT = re.compile(
    r"undeliver|delivery (?:status|fail|notification|problem|report)|failure notice|returned mail|"
    r"mail delivery (?:failed|system|subsystem)|could not (?:be )?deliver|non[- ]?delivery|delivery has failed|"
    r"mail system error|warning: could not|nondeliverable|rejected|bounced?\b|配信|不達|エラー",
    re.IGNORECASE,
)


# Opening sentences of bounce notices: Sendmail "The following addresses had permanent fatal errors";
# qmail "I wasn't able to deliver your message"; KDDI "Could not be delivered to: <x>"; Exchange
# "Delivery has failed to these recipients"; Postfix "could not be delivered to one or more recipients"
_FAILURE_NOTICE = re.compile(
    r"could not be delivered|was not delivered|(?:wasn't|was not|were not|unable) (?:able )?to deliver"
    r"|delivery (?:to the following recipients? )?(?:has )?failed|following addresses had|undeliverable"
    r"|permanent(?: fatal)? error|returned to (?:the )?sender|message not delivered|delivery status notification"
    r"|delivery to the following recipients",
    re.IGNORECASE,
)
# "Could not be delivered to: <x@example.jp>" (au one net); "There was an error delivering your mail to <x>" (DragonFly)
_UNDELIVERED_TO = re.compile(
    r"(?:not be delivered|error delivering your mail|unable to deliver (?:your )?(?:message|mail)) to:?\s*<?[^\s@<>]+@",
    re.IGNORECASE,
)


_QUOTED_REPLY = re.compile(r"(?<![\w.:/-])[45][0-5]\d(?:[ -][245]\.\d{1,3}\.\d{1,3}|[ -](?=[A-Za-z<]))")


def header_text(message: Message | None, name: str) -> str:
    """A header's value as text ("" when absent or undecodable): RFC 2047 words decoded, unfolded."""
    if message is None:
        return ""
    try:
        value = message.get(name)
        if value is None:
            return ""
        if not isinstance(value, str):
            value = str(value)
        decoded = email.header.decode_header(value)
        text = "".join(
            part.decode(charset or "ascii", "replace") if isinstance(part, bytes) else part for part, charset in decoded
        )
    except (LookupError, ValueError, TypeError, AssertionError, email.errors.HeaderParseError):
        text = str(message.get(name, ""))
    return " ".join(text.split())


def timestamp_of(text: str) -> datetime | None:
    """An RFC 5322 (or ISO 8601, as SES writes) date as an aware UTC datetime; None when it does not parse."""
    if not text:
        return None
    try:
        stamp = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        try:
            stamp = datetime.fromisoformat(text.strip())
        except ValueError:
            return None
    try:
        return (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).astimezone(UTC)
    except OverflowError:  # an offset pushing it past year 1 or 9999 in UTC
        return None


def part_text(part: Message) -> str:
    """A text part decoded by its charset; bytes that do not decode are replaced, never raised."""
    try:
        payload = part.get_payload(decode=True)
    except (LookupError, ValueError, TypeError, AssertionError):
        payload = None
    if payload is None:
        raw = part.get_payload()
        return raw if isinstance(raw, str) else ""
    if not isinstance(payload, bytes):
        return str(payload)
    charset = _charset(part)
    try:
        return payload.decode(charset, "replace")
    except (LookupError, ValueError):
        return payload.decode("utf-8", "replace")


def _charset(part: Message) -> str:
    try:
        charset = part.get_content_charset() or "utf-8"
    except (LookupError, ValueError, TypeError):
        return "utf-8"
    return "utf-8" if charset in ("us-ascii", "ascii") else charset


def walk(message: Message) -> list[Message]:
    """Every part outside any returned original (message/rfc822 subtrees are not entered)."""
    found: list[Message] = []
    stack = [message]
    while stack and len(found) < 200:
        part = stack.pop(0)
        found.append(part)
        if part.get_content_maintype() == "message":
            continue
        payload = part.get_payload() if part.is_multipart() else None
        if isinstance(payload, list):
            stack[:0] = [p for p in payload if isinstance(p, Message)]
    return found


def _content_type(part: Message) -> str:
    """The type without the parameters a missing ";" glued on ("text/plain\n   charset=iso-2022-jp": OpenMail)."""
    try:
        kind = part.get_content_type()
    except (ValueError, TypeError, AttributeError):
        return "text/plain"
    return kind.split(None, 1)[0] if kind.strip() else "text/plain"


def _notice_and_rest(message: Message, parts: tuple[tuple[str, Message], ...]) -> tuple[str, str]:
    """The human-readable notice, and any text after it that may hold the original's headers."""
    texts = [
        (kind, part) for kind, part in parts if kind.startswith("text/") and not kind.startswith("text/rfc822-header")
    ]
    plain = [part for kind, part in texts if kind == "text/plain"] or [part for _, part in texts]
    if not plain:  # a multipart whose boundary is missing or wrong: its body is one unparsed string
        payload = message.get_payload()
        if not isinstance(payload, str):
            return "", ""
        cut = _cut_at(payload)
        return payload[:cut][:_MAX_NOTICE], payload[cut:] if cut is not None else ""
    text = part_text(plain[0])[: _MAX_NOTICE * 2]
    if plain[0].get_content_type() == "text/html":
        text = _TAG.sub(" ", text)
    rest = "\n".join(part_text(part)[:_MAX_NOTICE] for part in plain[1:2])
    cut = _cut_at(text)
    if cut is not None:
        return text[:cut][:_MAX_NOTICE], text[cut:] + "\n" + rest
    return text[:_MAX_NOTICE], rest


def _cut_at(text: str) -> int | None:
    marker = _ORIGINAL_MARKERS.search(text)
    header = _HEADER_START.search(text)
    cuts = [m.start() for m in (marker, header) if m is not None]
    if marker is not None:  # the notice also loses the blank lines just above the marker
        cuts[0] = _start_of_blank_lines(text, marker.start())
    return min(cuts) if cuts else None


def _start_of_blank_lines(text: str, line: int) -> int:
    """The first of the blank lines that end at ``line`` (a line start), else ``line`` itself."""
    words_end = len(text[:line].rstrip())
    return 0 if words_end == 0 else text.index("\n", words_end) + 1


def _original(parts: tuple[tuple[str, Message], ...], rest: str) -> Message | None:
    """The returned original: a message/rfc822 part, a text/rfc822-headers part, or headers after the notice."""
    for kind, part in parts:
        if kind in ("message/rfc822", "message/global", "message/rfc822-headers", "message/partial"):
            payload = part.get_payload()
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                return payload[0]
        if kind in ("text/rfc822-headers", "text/rfc822-header"):  # the second: ARF drafts' spelling
            return _headers_from(part_text(part))
    start = _HEADER_START.search(rest)
    return _headers_from(rest[start.start() :]) if start is not None else None


def _headers_from(text: str) -> Message | None:
    try:
        parsed = _HEADERS.parsestr(text.lstrip()[:_MAX_NOTICE], headersonly=True)
    except (ValueError, TypeError, LookupError, AssertionError):
        return None
    return parsed if parsed.keys() else None
