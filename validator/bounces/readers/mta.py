"""Bounces without RFC 3464 structure: Exim, qmail, Sendmail V5, Gmail, Yahoo, DragonFly, Exchange, ...

Detectors are listed most-authoritative first (flufl.bounce 6's explicit list); the first that
finds a recipient answers for the whole message, so a weak detector never adds an address a
strong one did not see (flufl.bounce GitLab #12). Every detector reads only ``Report.notice``,
the human-readable text before the returned original. Pure and total, but for a message listing
more than ``MAX_RECIPIENTS`` failed recipients (``UnparseableMessage``).
"""

from __future__ import annotations

import dataclasses
import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate

from validator.bounces.readers.addresses import addresses_in
from validator.bounces.readers.mentions import Mentions
from validator.bounces.readers.mime import Report, header_text
from validator.errors import UnparseableMessage

_MAX_BLOCK = 1500
# Postfix refuses more recipients per message (smtpd_recipient_limit, 1,000), so no real bounce lists more.
# Each one's words are classified (about 3 ms for 1,500 characters): 10,666 listed in 180 KB took 29 s.
MAX_RECIPIENTS = 1000
_REPLY_CODE = re.compile(r"(?<![\w.])[45]\d\d(?:[ -]|$)|#?[45]\.\d{1,3}\.\d{1,3}")


@dataclass(frozen=True, slots=True)
class FailedRecipient:
    recipient: str
    diagnostic: str  # the notice's words about this recipient, the remote reply included when quoted
    remote_mta: str | None
    context: str = ""  # the notice around it (the SMTP command may be named there: "-------SMTP command DATA")
    inferred: bool = False  # the notice named no recipient: taken from the returned original's headers


# Addresses of the mail system itself, never a failed recipient:
# "From: MAILER-DAEMON@example.org" (postmaster@ can be a real recipient: "delivering your mail to <postmaster@x>")
_SYSTEM_LOCAL = re.compile(r"^(?:mailer-daemon|mail-daemon|mailerdaemon)$", re.IGNORECASE)
# Postfix: "host mx.example.org[192.0.2.1] said:"; Exim: "host mx.example.jp [192.0.2.20]: 550 ..."
_REMOTE_HOST = re.compile(r"\b(?:host|server|MTA)\s+\[?([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)\]?\s*\[", re.IGNORECASE)
# Exim omits the domain when the failed address was local: "  kijitora\n    SMTP error from ..." with the
# full address only in "X-Failed-Recipients: kijitora@example.ed.jp"


def read_failures(report: Report) -> list[FailedRecipient]:
    """The first detector's answer; an empty list when none found a recipient."""
    for detector in DETECTORS:
        found = detector(report)
        if found:
            return found
    return []


def _failed_recipients_header(report: Report) -> list[FailedRecipient]:
    """Exim and Gmail list the failed addresses in ``X-Failed-Recipients`` (Exim's spec, ch. 48)."""
    recipients = addresses_in(report.header("X-Failed-Recipients"))
    return _failures(report.notice, recipients, recipients)


def _notice_addresses(report: Report) -> list[FailedRecipient]:
    """Any address the notice names that is not the sender's, the mail system's or an identifier.

    qmail: "<kijitora@example.org>:\\nRemote host said: 550 5.1.1 ..."; Exim: "  x@example.jp\\n    host ...";
    DragonFly: "There was an error delivering your mail to <x@example.com>."
    """
    excluded = _known_non_recipients(report)
    recipients = [
        address
        for address in addresses_in(_without_urls(report.notice))
        if address.casefold() not in excluded and not _SYSTEM_LOCAL.match(address.rpartition("@")[0])
    ]
    return _failures(report.notice, recipients, recipients)


# Where the returned original says whom it was for: Postfix's X-Original-To, the ORCPT some MTAs copy into an
# Original-Recipient header, then the addressees the author wrote
_ORIGINAL_RECIPIENT_FIELDS = ("X-Original-To", "Original-Recipient", "To", "Cc")


def _original_recipient(report: Report) -> list[FailedRecipient]:
    """The one recipient of the returned original, when the notice names none.

    Sendmail V5: "421 example.com (smtp)... Deferred: Connection timed out during user open with example.com"
    with the address only in the returned original's "To: kijitora@example.com". Several candidates are
    narrowed to the domains the notice names; still several, and nothing is guessed.
    """
    if report.original is None:
        return []
    excluded = _known_non_recipients(report)
    candidates: list[str] = []
    for name in _ORIGINAL_RECIPIENT_FIELDS:
        for address in addresses_in(report.original_header(name)):
            if address.casefold() not in excluded:
                excluded.add(address.casefold())  # a set: thousands of addressees in a header are no search each
                candidates.append(address)
    notice = report.notice.casefold()
    named = [a for a in candidates if a.rpartition("@")[2].casefold() in notice]
    chosen = named if len(named) == 1 else candidates if len(candidates) == 1 else []
    return [dataclasses.replace(failure, inferred=True) for failure in _failures(report.notice, chosen, chosen)]


DETECTORS: list[Callable[[Report], list[FailedRecipient]]] = [
    _failed_recipients_header,
    _notice_addresses,
    _original_recipient,  # last: only when the notice itself names nobody
]


def _known_non_recipients(report: Report) -> set[str]:
    """The bounce's own addressees and author, the original's sender, and any Message-ID."""
    names = ("From", "To", "Cc", "Reply-To", "Return-Path", "Sender", "Message-ID", "In-Reply-To", "References")
    values = [report.header(name) for name in names]
    if report.original is not None:
        values += [
            header_text(report.original, name) for name in ("From", "Return-Path", "Sender", "Reply-To", "Message-ID")
        ]
    return {address.casefold() for value in values for address in addresses_in(value)}


_URL = re.compile(r"\b(?:https?|mailto):\S+", re.IGNORECASE)


def _without_urls(text: str) -> str:
    # "https://support.google.com/mail/?p=x&email=a@b.c" carries addresses that are not recipients
    return _URL.sub(" ", text)


def _failures(notice: str, failed: list[str], recipients: list[str]) -> list[FailedRecipient]:
    """Each failed recipient with its words; the notice is searched once for all of them (mentions.py).

    Whichever detector found them, a message naming more than ``MAX_RECIPIENTS`` is refused, never
    cut: each one's words are classified, and no MTA sends one message to more (Postfix's
    smtpd_recipient_limit is 1,000)."""
    if len(failed) > MAX_RECIPIENTS:
        raise UnparseableMessage(
            f"names {len(failed):,} recipients as failed; one message is read for at most {MAX_RECIPIENTS:,}, "
            "more than an MTA accepts for one message"
        )
    mentions, verdicts, reply = Mentions(notice, recipients), _VerdictLines(notice), _first_reply(notice)
    return [_failure(mentions, verdicts, address, len(recipients) == 1, reply) for address in failed]


def _failure(
    mentions: Mentions, verdicts: _VerdictLines, recipient: str, alone: bool, first_reply: int
) -> FailedRecipient:
    block = _block(mentions, recipient, first_reply)
    words = verdicts.about(recipient) or block
    if alone and not _REPLY_CODE.search(words):
        # the reason may come before the address: MailMarshal "Could not be delivered because of\n\n550 5.1.1 User
        # unknown\n\nThe following recipients were affected: x"; Notes "User not listed in ... Book\nx@example.com"
        words = " ".join(mentions.notice.split())[:_MAX_BLOCK]
    remote = _REMOTE_HOST.search(words)
    return FailedRecipient(recipient, words, remote.group(1) if remote else None, block)


# Sendmail's transcript gives each recipient its own verdict line, "NNN <address>... text", and lines about other
# hosts sit between them: "554 <x@example.edu>... Remote protocol error ...\n550 example.or.jp (smtp)... 550 Host
# unknown\n554 <y@example.or.jp>... 550 Host unknown"; ">>> RCPT To:<x>" then "<<< 550 ..." is the exchange itself.
_VERDICT_LINE = re.compile(r"^(?:[45]\d\d[ -]|>>> )")


class _VerdictLines:
    """The notice's transcript lines, gathered once: one text to search per recipient, not every line."""

    def __init__(self, notice: str) -> None:
        lines = [line.strip() for line in notice.splitlines()[:2000]]
        self._picked: list[list[str]] = []  # each verdict line, with the "<<<" reply after a ">>>" line
        for at, text in enumerate(lines):
            if _VERDICT_LINE.match(text):
                following = lines[at + 1] if at + 1 < len(lines) else ""
                pair = text.startswith(">>>") and following.startswith("<<<")
                self._picked.append([text, following] if pair else [text])
        # case-folded verdict lines joined by line breaks, which no address holds
        self._folded = "\n".join(picked[0].casefold() for picked in self._picked)
        self._line_starts = list(accumulate((len(p[0].casefold()) + 1 for p in self._picked), initial=0))

    def about(self, recipient: str) -> str | None:
        """The transcript lines that name the recipient and give a reply, when the notice has such lines."""
        needle, found = recipient.casefold(), []
        at = self._folded.find(needle) if needle else -1
        while at >= 0:
            line = bisect_right(self._line_starts, at) - 1
            found.append(line)
            at = self._folded.find(needle, self._line_starts[line + 1])  # once per line
        picked = [text for line in found for text in self._picked[line]]
        if not any(not line.startswith(">>>") for line in picked):
            return None
        return " ".join(" ".join(picked).split())[:_MAX_BLOCK]


def _block(mentions: Mentions, recipient: str, first_reply: int) -> str:
    """From the recipient's first mention to the next recipient's (or the notice's end), squashed."""
    notice = mentions.notice
    at = mentions.first(recipient)
    if at >= 0:
        at += len(recipient)  # the words after the address: "<x@example.org>: Remote host said: ..."
    else:  # Exim names a local recipient by its local part only
        found = mentions.after_local_part(recipient.rpartition("@")[0])
        at = found if found is not None else first_reply
    end = mentions.next_other(recipient, at)
    end = len(notice) if end is None else end
    return " ".join(notice[at:end].split()).lstrip(">:;,. ")[:_MAX_BLOCK]


_FIRST_REPLY = re.compile(r"(?m)^.*\b[45]\d\d[ -]")


def _first_reply(notice: str) -> int:
    match = _FIRST_REPLY.search(notice)
    return match.start() if match else 0
