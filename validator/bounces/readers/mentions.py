"""Where a notice names its recipients, found once per message, for the words about each one.

A recipient's words run from its mention to the next recipient's (``mta._block``,
``dsn._notice_words``). Searching the notice again for every other recipient, for every recipient,
cost recipients² × the notice's length: 1,000 addresses in ``X-Failed-Recipients``, each named in
a 48 KB notice, took 14 s, and 800 status blocks 4 s, on the event loop. Here the notice is
case-folded once and its address tokens (``mime.ADDRESS``) indexed once, so each question is a
binary search. The next recipient is the next address *token* that is a recipient: an address
glued inside a longer token (``xa@example.org`` holds ``a@example.org``) is not a mention of it,
the rule ``mime.ADDRESS`` applies everywhere else. Pure.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable

from validator.bounces.readers.addresses import ADDRESS


class Mentions:
    """The recipients' mentions in one notice, in order."""

    def __init__(self, notice: str, recipients: Iterable[str]) -> None:
        self.notice = notice
        self.lowered = notice.casefold()
        keys = {recipient.casefold() for recipient in recipients}
        self._starts: list[int] = []
        self._keys: list[str] = []
        for match in ADDRESS.finditer(self.lowered):
            token = match.group(0)
            key = token.strip(".")
            if key in keys:
                self._starts.append(match.start() + len(token) - len(token.lstrip(".")))
                self._keys.append(key)
        self._locals: dict[str, int] | None = None  # built when first asked (after_local_part)
        # _past_run[i]: the first mention after i that names another recipient than mention i does
        self._past_run = [len(self._keys)] * len(self._keys)
        for i in range(len(self._keys) - 2, -1, -1):
            same = self._keys[i + 1] == self._keys[i]
            self._past_run[i] = self._past_run[i + 1] if same else i + 1

    def after_local_part(self, local: str) -> int | None:
        """Where the first line that holds only ``local`` ends (blanks, and ``<``, ``>`` around it allowed):
        Exim names a local recipient so ("  kijitora\n    SMTP error from ..."). One pass over the notice
        answers for every recipient; a search per recipient cost 7 s for 2,000 in a 64 KB notice."""
        if self._locals is None:
            self._locals, at = {}, 0
            for line in self.lowered.split("\n"):
                self._locals.setdefault(line.strip().removeprefix("<").removesuffix(">"), at + len(line))
                at += len(line) + 1
        return self._locals.get(local.casefold()) if local else None

    def first(self, recipient: str) -> int:
        """Where the case-folded notice first holds ``recipient`` (-1: nowhere)."""
        return self.lowered.find(recipient.casefold())

    def next_other(self, recipient: str, start: int) -> int | None:
        """Where the first mention of another recipient begins, at or after ``start``."""
        i = bisect_left(self._starts, start)
        if i < len(self._keys) and self._keys[i] == recipient.casefold():
            i = self._past_run[i]
        return self._starts[i] if i < len(self._starts) else None
