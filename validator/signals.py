"""Risk signals that need no DNS: disposable, privacy relay, role account, free provider, typo.

What lives here: ``assess_signals`` and the ``SignalTables`` it reads, the typo index, and the
edit distance the typo index needs. The facts come from word lists shipped as package data
(``validator/data/*.txt``, one entry a line, ``#`` comments) and from the maintained
``disposable-email-domains`` blocklist, all loaded once. What must not live here: I/O beyond
reading that package data at load time (no asyncio, sockets, sqlite3 or aiohttp), and any
decision. A signal is a fact about the address; what it does to the verdict is ``verdict.py``'s
business under the operator's ``SignalEffect`` settings (Sisimai keeps facts apart from decisions).
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib.resources import files

from disposable_email_domains import blocklist as _DISPOSABLE_BLOCKLIST

from .model import Address, Signals

# Domains repeat across requests while local parts do not, so the per-domain work (parent
# walks, typo search) is cached on the domain. 4096 domains cover the head of real traffic
# (the top few hundred mailbox domains carry most consumer mail) at well under 1 MB.
DEFAULT_CACHE_SIZE = 4096


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
    Ties go to the target listed first (the more popular one).
    """

    __slots__ = ("_known", "_tld_typos", "_by_rest", "_by_first")

    def __init__(self, targets: Sequence[str], known: Iterable[str], tld_typos: Mapping[str, str]) -> None:
        self._known = frozenset(known) | frozenset(targets)
        self._tld_typos = dict(tld_typos)
        self._by_rest: dict[str, list[_Target]] = {}
        self._by_first: dict[str, list[_Target]] = {}
        for domain in targets:
            first, _, rest = domain.partition(".")
            target = _Target(domain, first, rest, _edit_budget(first), frozenset(first))
            if target.budget:
                self._by_rest.setdefault(rest, []).append(target)
                self._by_first.setdefault(first, []).append(target)

    def suggest(self, domain: str) -> str | None:
        """The corrected domain, or None when ``domain`` is known or close to nothing popular."""
        if domain in self._known:
            return None
        head, _, tld = domain.rpartition(".")
        meant_tld = self._tld_typos.get(tld)
        if meant_tld is None or not head:
            return self._closest(domain)
        fixed = f"{head}.{meant_tld}"
        if fixed in self._known:
            return fixed
        return self._closest(fixed) or fixed

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
            distance = edit_distance(first, target.first, target.budget)
            if distance <= target.budget and distance < best_distance:
                best, best_distance = target.domain, distance
        if best is not None:
            return best
        # gmail.co, yahoo.cm, hotmail.om: real ccTLDs, but not where these mailboxes live.
        depth = rest.count(".")
        for target in self._by_first.get(first, ()):
            if target.rest.count(".") == depth and edit_distance(rest, target.rest, 1) <= 1:
                return target.domain
        return None


def _role_key(local_part: str) -> str:
    """The form a local part is compared in against roles.txt.

    RFC 2142 §2: mailbox names are case-insensitive. A +tag (RFC 5233 subaddress) still reaches
    the role mailbox, and people spell one role with or without separators (``no-reply``,
    ``no_reply``, ``No.Reply``, ``noreply``), so the tag and the separators "." "-" "_" go.
    """
    base = local_part.partition("+")[0].lower()
    return base.replace(".", "").replace("-", "").replace("_", "")


def _listed(domain: str, table: frozenset[str]) -> bool:
    """``domain`` or one of its parents is in ``table``; the bare TLD never counts.

    Disposable services and relays hand out subdomains (``x.mailinator.com``,
    ``johndoe.anonaddy.com``); regional ISP mailboxes live under one parent (``nc.rr.com``).
    """
    labels = domain.split(".")
    return any(".".join(labels[i:]) in table for i in range(len(labels) - 1))


@dataclass(frozen=True, slots=True)
class _DomainFacts:
    """Everything about one domain, computed once: ready Signals for both role answers."""

    person: Signals
    role: Signals
    typo_domain: str | None


class SignalTables:
    """The loaded word lists plus a bounded per-domain cache. Build once, share, never mutate.

    ``SignalTables.load()`` reads the package data; the constructor takes explicit collections so
    a test can build a tiny table. ``cache_size`` bounds the per-domain LRU (entries, not bytes).
    """

    __slots__ = ("_disposable", "_relays", "_roles", "_free", "_typos", "_facts")

    def __init__(
        self,
        *,
        disposable: Collection[str],
        relays: Collection[str],
        roles: Iterable[str],
        free_providers: Collection[str],
        typos: TypoIndex,
        cache_size: int = DEFAULT_CACHE_SIZE,
    ) -> None:
        self._disposable = frozenset(disposable)
        self._relays = frozenset(relays)
        self._roles = frozenset(_role_key(role) for role in roles)
        self._free = frozenset(free_providers)
        self._typos = typos
        self._facts = functools.lru_cache(maxsize=cache_size)(self._assess_domain)

    @classmethod
    def load(cls, cache_size: int = DEFAULT_CACHE_SIZE) -> SignalTables:
        """Read every list from ``validator/data`` and the disposable blocklist."""
        relays = _read_words("privacy_relays.txt")
        free = _read_words("free_providers.txt")
        typos = TypoIndex(
            targets=_read_words("typo_targets.txt"),
            known=[*free, *relays, *_read_words("real_lookalikes.txt")],
            tld_typos=_read_pairs("tld_typos.txt"),
        )
        return cls(
            disposable=_DISPOSABLE_BLOCKLIST,
            relays=relays,
            roles=_read_words("roles.txt"),
            free_providers=free,
            typos=typos,
            cache_size=cache_size,
        )

    def assess(self, address: Address) -> Signals:
        """The signals for ``address``; a suggestion keeps the local part exactly as typed."""
        facts = self._facts(address.domain, address.ascii_domain)
        signals = facts.role if _role_key(address.local_part) in self._roles else facts.person
        if facts.typo_domain is None:
            return signals
        return Signals(
            disposable=signals.disposable,
            role_account=signals.role_account,
            free_provider=signals.free_provider,
            privacy_relay=signals.privacy_relay,
            suggestion=f"{address.local_part}@{facts.typo_domain}",
        )

    def _assess_domain(self, domain: str, ascii_domain: str) -> _DomainFacts:
        # Lists hold ASCII (IDNA) names; the typo index reads the Unicode form, so a homoglyph
        # such as "gmaíl.com" is one edit from gmail.com rather than a distant "xn--" label.
        relay = _listed(ascii_domain, self._relays)
        # A relay delivers to a real inbox: it is never disposable, whatever the blocklist says.
        disposable = not relay and _listed(ascii_domain, self._disposable)
        free = not relay and _listed(ascii_domain, self._free)
        return _DomainFacts(
            person=Signals(disposable=disposable, free_provider=free, privacy_relay=relay),
            role=Signals(disposable=disposable, role_account=True, free_provider=free, privacy_relay=relay),
            typo_domain=None if relay else self._typos.suggest(domain),
        )


def _read_lines(name: str) -> Iterable[tuple[int, str]]:
    text = files("validator").joinpath("data", name).read_text(encoding="utf-8")
    for number, line in enumerate(text.splitlines(), 1):
        entry = line.split("#", 1)[0].strip().lower()
        if entry:
            yield number, entry


def _read_words(name: str) -> list[str]:
    """One entry a line, in file order (typo_targets.txt's order is its priority)."""
    return [entry for _, entry in _read_lines(name)]


def _read_pairs(name: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for number, entry in _read_lines(name):
        words = entry.split()
        if len(words) != 2:
            raise ValueError(f"validator/data/{name}:{number}: expected 'typed meant', got {entry!r}")
        pairs[words[0]] = words[1]
    return pairs


@functools.cache
def default_tables() -> SignalTables:
    """The package-data tables, loaded on first use and then shared read-only.

    This is the one module-level instance: ``assess_signals(address)`` uses it so the checker
    needs no wiring; a caller that wants its own lists or cache size passes ``tables``.
    """
    return SignalTables.load()


def assess_signals(address: Address, tables: SignalTables | None = None) -> Signals:
    """Disposable, privacy relay, role account, free provider and a typo suggestion for ``address``.

    Cheap on the hot path: per-domain facts are cached, so a repeat domain costs one cache hit,
    one role lookup and no allocation (the Signals for that domain are shared, frozen values).
    """
    return (default_tables() if tables is None else tables).assess(address)
