"""CSV records from physical lines, for uploads read a few lines at a time (never held whole).

A record ends at a line end outside quotes (RFC 4180 §2.6), so a quoted line break survives
however the network cut the body. A record with bytes that are not UTF-8 is marked, not
dropped: the readers answer it with its line number and go on. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Record:
    start: int  # the record's first physical line (1-based)
    text: str  # as decoded; bytes that are not UTF-8 replaced by U+FFFD
    undecodable: bool


class RecordJoiner:
    """Feed whole lines (each ending in a line break, but the file's last one); take records."""

    def __init__(self) -> None:
        self._text, self._undecodable = "", False
        self._line = 0  # physical lines consumed
        self._start = 1  # first physical line of the pending record

    def feed(self, lines: list[bytes]) -> list[Record]:
        records = []
        for raw in lines:
            self._line += 1
            if not self._text and not self._undecodable:
                self._start = self._line
            try:
                self._text += raw.decode("utf-8")
            except UnicodeDecodeError:
                self._text += raw.decode("utf-8", "replace")
                self._undecodable = True
            if self._text.count('"') % 2 == 0:  # else inside a quoted cell: the record goes on
                records.append(self._take())
        return records

    def finish(self) -> list[Record]:
        """The last record, even one whose quotes never closed (it is answered, not dropped)."""
        return [self._take()] if self._text or self._undecodable else []

    def _take(self) -> Record:
        record = Record(self._start, self._text, self._undecodable)
        self._text, self._undecodable = "", False
        return record


# OWASP "CSV Injection": a spreadsheet runs a cell starting with = + - @ TAB or CR as a formula
# (=HYPERLINK(...), DDE payloads); a leading ' makes it text. A cell that already starts with '
# before such a character gets one more, so ``from_spreadsheet`` restores every cell exactly.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def to_spreadsheet(cell: str) -> str:
    """``cell`` safe to open in a spreadsheet: ``=1+1`` → ``'=1+1``."""
    return "'" + cell if cell.lstrip("'").startswith(_FORMULA_STARTS) else cell


def from_spreadsheet(cell: str) -> str:
    """The inverse of ``to_spreadsheet``, for re-importing an export: ``'=1+1`` → ``=1+1``."""
    return cell[1:] if cell.startswith("'") and cell.lstrip("'").startswith(_FORMULA_STARTS) else cell
