"""Typo suggestions for a mailbox domain: ``TypoIndex`` and the edit distance it needs.

What lives here: the rules that turn a mistyped domain into the popular one meant, and the
guards that keep them off real look-alike domains (``validator/data/real_lookalikes.txt``,
the held-out list in ``tests/data/typo-heldout``). What must not: word-list loading (that is
``signals.SignalTables.load``), I/O, or any decision about the verdict.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

# Generic TLDs people swap out of habit: Verizon, Comcast and AT&T mailboxes are .net, typed .com
_GENERIC = frozenset({"com", "net", "org"})
# QWERTY rows: a key's neighbours are beside it and diagonally above and below (the rows are staggered)
_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_NEIGHBOURS = {
    key: {
        row[c]
        for r2, c in ((r, i - 1), (r, i + 1), (r - 1, i), (r - 1, i + 1), (r + 1, i - 1), (r + 1, i))
        if 0 <= r2 < len(_ROWS)
        for row in [_ROWS[r2]]
        if 0 <= c < len(row)
    }
    for r, keys in enumerate(_ROWS)
    for i, key in enumerate(keys)
}


def _same_start(typed: str, meant: str) -> bool:
    """The typed name starts as the meant one does, or one slip away: a neighbouring key, a first letter
    dropped (``otmail``) or one typed before it (``ghotmail``).

    People rarely misspell the first letter (Pollock and Zamora, "Collection and characterization of
    spelling errors in scientific and scholarly text", CACM 1983: about 7% of misspellings), while real
    look-alike names often differ exactly there: ``wahoo.com`` is Wahoo Fitness, not a slip for yahoo.
    """
    if not typed or not meant:
        return False
    return (
        typed[0] == meant[0]
        or typed[0] in _NEIGHBOURS.get(meant[0], ())
        or typed[0] == meant[1:2]
        or typed[1:2] == meant[0]
    )


# Punctuation that never belongs in a domain but sits beside "." or "@" on a keyboard, or comes from pasting
_STRAY = re.compile(r"[;:'\"<>()\[\]\s`\\/]")


def edit_distance(a: str, b: str, limit: int) -> int:
    """Damerau-Levenshtein distance (optimal string alignment) of ``a`` and ``b``, capped at ``limit + 1``.

    An adjacent transposition costs one edit, as a substitution does: ``gmial`` is one slip
    from ``gmail``, not two. Typo budgets are one or two edits, so instead of filling a whole
    matrix this skips the common prefix (an optimal alignment always matches it) and tries the
    four edits that can repair the first difference, each with one edit less to spend: a miss
    against a target then costs a few string comparisons, not a Python loop over every cell.
    """
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    same = 0
    shortest = min(len(a), len(b))
    while same < shortest and a[same] == b[same]:
        same += 1
    a, b = a[same:], b[same:]
    if not a or not b:
        return len(a) + len(b)  # within limit: the length check above bounds it
    if limit == 0:
        return 1
    repairs = [(a[1:], b[1:]), (a[1:], b), (a, b[1:])]  # substitute, delete, insert
    if len(a) > 1 and len(b) > 1 and a[0] == b[1] and a[1] == b[0]:
        repairs.append((a[2:], b[2:]))  # transpose
    best = limit + 1
    for rest_a, rest_b in repairs:
        best = min(best, 1 + edit_distance(rest_a, rest_b, limit - 1))
        if best == 1:
            break
    return best


def _edit_budget(label: str) -> int:
    """How many edits may separate a typed first label from a target's first label.

    Short names have too many real neighbours to guess at: one edit from ``live``, ``gmx`` and
    ``aol`` lie ``love.com``, ``gmc.com`` and ``sol.com``, all somebody's domain. Up to eight
    letters allow only one edit because ``hotmart.com`` (a real company) is two from
    ``hotmail.com``; two edits start at nine letters (``sbcglobal``, ``googlemail``).
    """
    if len(label) < 5:
        return 0
    return 1 if len(label) <= 8 else 2


@dataclass(frozen=True, slots=True)
class _Target:
    domain: str  # "hotmail.co.uk"
    first: str  # "hotmail": the only part compared fuzzily
    rest: str  # "co.uk": must match exactly for a fuzzy comparison of ``first``
    budget: int
    letters: frozenset[str]  # set(first), for the cheap rejection in ``_closest``


class TypoIndex:
    """Suggests the mailbox domain a typed domain most likely meant, or nothing.

    The guards against false suggestions, in order:

    1. A known domain is never corrected: targets, free providers, privacy relays and the
       real look-alikes list (``gmx.com``, ``ymail.com``, ``cloud.com`` are all one edit
       from a target and all real).
    2. A TLD from ``tld_typos.txt`` is fixed for any domain, because none of those TLDs is
       delegated (``acme.con`` can never receive mail); real ccTLDs such as ``.co``, ``.cm``
       and ``.om`` are not in that map, so ``mycompany.co`` is left alone.
    3. Only the first label is compared fuzzily, only against targets whose remaining labels
       are identical, within the budget of ``_edit_budget`` (none for names under 5 letters).
    4. A real but unlikely TLD is corrected only after the exact first label of a target of
       5+ letters, one edit from the target's suffix: ``gmail.co`` -> ``gmail.com``.
    5. A dot in the wrong place is no edit at all: the domain without its dots is a target's
       without its dots (``hotmailc.om``, ``gmailcom`` -> ``hotmail.com``, ``gmail.com``).
    6. A TLD that is not delegated (``tlds.txt``, IANA's list) is corrected after the exact
       labels of a target, up to two edits away: ``verizon.nte`` -> ``verizon.net``.
    7. A misspelt name with the wrong generic TLD: ``verizom.com`` -> ``verizon.net``, only
       between .com, .net and .org (the habit of typing .com for an ISP's .net), within rule 3's budget.
    Ties go to the target listed first (the more popular one).
    """

    __slots__ = ("_known", "_tld_typos", "_by_rest", "_by_first", "_undotted", "_delegated", "_generic")

    def __init__(
        self,
        targets: Sequence[str],
        known: Iterable[str],
        tld_typos: Mapping[str, str],
        delegated_tlds: Iterable[str] = (),
    ) -> None:
        self._known = frozenset(known) | frozenset(targets)
        self._tld_typos = dict(tld_typos)
        self._delegated = frozenset(delegated_tlds)
        self._by_rest: dict[str, list[_Target]] = {}
        self._by_first: dict[str, list[_Target]] = {}
        self._undotted: dict[str, str] = {}
        self._generic: list[_Target] = []
        for domain in targets:
            first, _, rest = domain.partition(".")
            target = _Target(domain, first, rest, _edit_budget(first), frozenset(first))
            self._undotted.setdefault(domain.replace(".", ""), domain)
            self._by_first.setdefault(first, []).append(target)
            if target.budget:
                self._by_rest.setdefault(rest, []).append(target)
                if rest in _GENERIC:
                    self._generic.append(target)

    def suggest(self, domain: str) -> str | None:
        """The corrected domain, or None when ``domain`` is known or close to nothing popular."""
        if domain in self._known:
            return None
        head, _, tld = domain.rpartition(".")
        meant_tld = self._tld_typos.get(tld)
        if meant_tld is None or not head:
            return self._undotted.get(domain.replace(".", "")) or self._closest(domain) or self._other_tld(domain)
        fixed = f"{head}.{meant_tld}"
        if fixed in self._known:
            return fixed
        return self._closest(fixed) or fixed

    def suggest_repaired(self, domain: str) -> str | None:
        """For a domain that is no domain (``,yahoo.com``, ``gmail,com``, ``gmail..com``): the popular one meant.

        Only a known or suggested domain is offered: stray punctuation in somebody's own domain is
        theirs to fix, and a guess there would be no better than theirs.
        """
        repaired = ".".join(label for label in _STRAY.sub("", domain.replace(",", ".")).split(".") if label)
        if not repaired or repaired == domain:
            return None
        return repaired if repaired in self._known else self.suggest(repaired)

    def _other_tld(self, domain: str) -> str | None:
        """Rules 6 and 7: the TLD is undelegated, or the name misspelt under the wrong generic TLD."""
        first, _, rest = domain.partition(".")
        tld = domain.rpartition(".")[2]
        if self._delegated and tld not in self._delegated:
            depth = rest.count(".")
            found = [
                (edit_distance(rest, t.rest, 2), t.domain)
                for t in self._by_first.get(first, ())
                if t.rest.count(".") == depth
            ]
            best = min((pair for pair in found if pair[0] <= 2), default=None, key=lambda pair: pair[0])
            return best[1] if best else None
        if rest not in _GENERIC or first in self._by_first:
            return None
        for target in self._generic:
            if target.rest != rest and edit_distance(first, target.first, target.budget) <= target.budget:
                return target.domain
        return None

    def _closest(self, domain: str) -> str | None:
        first, _, rest = domain.partition(".")
        best: str | None = None
        best_distance = 3  # above every budget
        letters = frozenset(first)
        for target in self._by_rest.get(rest, ()):
            # Each edit removes at most one letter that the other side lacks and brings in at most
            # one: more missing letters than the budget rule a target out without any alignment.
            if len(letters - target.letters) > target.budget or len(target.letters - letters) > target.budget:
                continue
            if not _same_start(first, target.first):
                continue
            distance = edit_distance(first, target.first, target.budget)
            if distance <= target.budget and distance < best_distance:
                best, best_distance = target.domain, distance
        if best is not None:
            return best
        # gmail.co, yahoo.cm, hotmail.om: real ccTLDs, but not where these mailboxes live.
        depth = rest.count(".")
        for target in self._by_first.get(first, ()):
            if target.budget and target.rest.count(".") == depth and edit_distance(rest, target.rest, 1) <= 1:
                return target.domain
        return None
